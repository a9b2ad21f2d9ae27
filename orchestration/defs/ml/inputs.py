"""Model inputs read from the warehouse with SQL, aggregated in DuckDB before pandas sees them.

Churn and segmentation features are computed in the warehouse from the relations in
``FEATURE_SOURCES`` (see ``ml.features``), so pandas receives one row per customer,
never the tens of millions of orders, order lines and clickstream days behind them.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from ml.features import FeatureSources

FEATURE_SOURCES = FeatureSources(
    orders="""(
        select customer_key, order_id, order_date, channel, status, net_revenue, discount_amount
        from marts.fct_orders where customer_key is not null)""",
    order_items="""(
        select i.order_id, coalesce(p.category, 'unknown') as category, i.line_amount as line_revenue
        from marts.fct_order_items i left join marts.dim_products p using (product_id))""",
    # Web activity as active days, plus tickets opened and surveys answered: contact of any kind
    # before a cutoff is a sign of life that orders alone do not show. Clickstream is by far the
    # biggest table (about 76 events per customer-year), so it counts once per day.
    activity="""(
        select customer_key, cast(occurred_at as date) as event_time, 'web_day' as activity_type
        from staging.stg_web__events where customer_key is not null group by all
        union all
        select customer_key, cast(opened_at as date), 'ticket' from staging.stg_helpdesk__support_tickets
        where customer_key is not null and opened_at is not null
        union all
        select customer_key, cast(responded_at as date), 'survey' from staging.stg_survey__responses
        where customer_key is not null and responded_at is not null)""",
)

# Purchase occasions for BG/NBD: every order that was not cancelled, valued at net revenue.
CLV_ORDERS = """
marts.fct_orders
where customer_key is not null and coalesce(status, '') <> 'cancelled'"""

# The purchase occasions, one row per customer (``ml.clv.PURCHASE_DAY_COLUMNS``) up to a day: fitting and scoring
# need only these, so the ten million orders behind them at L stay in DuckDB. Amounts add up as decimals, exactly and
# in any order (a double sum would depend on DuckDB's parallel aggregation order), and become doubles after.
CLV_PURCHASE_DAYS_SQL = f"""
with purchase_days as (
    select customer_key, order_date as day, sum(net_revenue) as amount
    from {CLV_ORDERS}
      and order_date <= $last_day
    group by customer_key, order_date
)
select
    customer_key,
    min(day) as first_day,
    max(day) as last_day,
    count(*) as purchase_days,
    cast(sum(amount) as double) as total_amount,
    cast(arg_min(amount, day) as double) as first_day_amount
from purchase_days
group by customer_key
order by customer_key
"""

# What the calibration's buyers did in the holdout: their purchase days after the calibration's last day.
CLV_HOLDOUT_DAYS_SQL = f"""
select customer_key, count(distinct order_date) as holdout_purchase_days
from {CLV_ORDERS}
  and order_date > $calibration_end and order_date <= $holdout_end
group by customer_key
"""

# What a customer has bought, as recommendations see it: the products of their orders not cancelled.
PURCHASED_LINES = """
marts.fct_order_items
where order_status <> 'cancelled' and customer_key is not null and product_id is not null"""

PURCHASES_TEMPLATE = """
select customer_key, product_id as item_id, min(order_date) as order_date
from {lines}{only}
group by customer_key, product_id, order_date
order by 1, 3, 2
"""
PURCHASES_SQL = PURCHASES_TEMPLATE.format(lines=PURCHASED_LINES, only="")

# Every customer with a fingerprint of the set of products they own (0: none), which is all a
# customer's recommendations depend on besides the model (orchestration/defs/ml/rescoring.py).
# The count joins the XOR so that a set and a superset whose extra hashes cancel stay apart.
OWNED_PRODUCTS_FINGERPRINT_SQL = f"""
select c.customer_key, coalesce(o.fingerprint, 0) as input_fingerprint
from marts.dim_customers c
left join (
    select customer_key, hash(bit_xor(hash(product_id)), count(*)) as fingerprint
    from (select customer_key, product_id from {PURCHASED_LINES} group by all)
    group by customer_key
) o using (customer_key)
"""

CUSTOMERS_SQL = "select customer_key from marts.dim_customers order by customer_key"

# One row per free-text item with its weak label (NPS for surveys only) and the customer when known.
# Social posts are linked through the hashed e-mail the platform exposes, as identity resolution does.
FEEDBACK_SQL = """
select 'survey:' || response_id as feedback_id, 'survey' as feedback_source, customer_key,
       comment as text, cast(nps_score as integer) as nps_score, responded_at as created_at
from staging.stg_survey__responses
where nullif(trim(comment), '') is not null
union all
select 'ticket:' || ticket_id, 'ticket', customer_key, description, null, opened_at
from staging.stg_helpdesk__support_tickets
where nullif(trim(description), '') is not null
union all
select 'social:' || m.post_id, 'social', c.customer_key, m.post_text, null, m.posted_at
from staging.stg_social__mentions m
left join (
    -- restricted staging: the e-mail is hashed here and never leaves this query
    select sha256(email) as email_sha256, min(customer_key) as customer_key
    from staging.stg_crm__customers where email is not null group by 1
) c on c.email_sha256 = m.email_sha256
where nullif(trim(m.post_text), '') is not null
order by 1
"""

# Each text's fingerprint: what its language, sentiment and topic are scored from, plus the
# source and customer the row carries (orchestration/defs/ml/rescoring.py).
FEEDBACK_FINGERPRINT_SQL = f"""
select feedback_id, hash(feedback_source, customer_key, text) as input_fingerprint from ({FEEDBACK_SQL})
"""


# Rows per Arrow batch when a result streams out of DuckDB.
BATCH_ROWS = 1_000_000


def query_df(con: duckdb.DuckDBPyConnection, sql: str, frames: dict[str, pd.DataFrame] | None = None,
             params: dict | None = None) -> pd.DataFrame:
    """The query's rows as a DataFrame, streamed through Arrow batches.

    DuckDB's own ``.df()`` holds the whole result in its buffers and again while converting it:
    reading L's 22.7M purchase rows peaked at 8.2 GB that way and at 4.1 GB streamed (and took half
    the time). Dates arrive as datetime64, not Python objects.
    """
    # Its own cursor: the caller's connection may hold a half-read result (a fetchone()), which DuckDB
    # will not let a streaming query start beside. ``frames`` are registered on it under their names.
    cursor = con.cursor()
    try:
        for name, frame in (frames or {}).items():
            cursor.register(name, frame)
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        return pa.Table.from_batches(reader, schema=reader.schema).to_pandas(date_as_object=False)
    finally:
        cursor.close()


def clv_purchase_days(con, last_day) -> pd.DataFrame:
    """Each buyer's purchase days up to ``last_day`` (a date), aggregated in DuckDB."""
    return query_df(con, CLV_PURCHASE_DAYS_SQL, params={"last_day": last_day})


def clv_holdout_days(con, calibration_end, holdout_end) -> pd.Series:
    """Purchase days per customer in (calibration_end, holdout_end] (dates), indexed by customer_key."""
    frame = query_df(con, CLV_HOLDOUT_DAYS_SQL, params={"calibration_end": calibration_end, "holdout_end": holdout_end})
    return frame.set_index("customer_key")["holdout_purchase_days"]


def purchases(con, of_customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every customer's purchases, or only those of the ``customer_key`` column of ``of_customers``."""
    if of_customers is None:
        return query_df(con, PURCHASES_SQL)
    # The filter sits before the grouping, so only these customers' lines are grouped.
    only = "\n  and customer_key in (select customer_key from _of)"
    return query_df(con, PURCHASES_TEMPLATE.format(lines=PURCHASED_LINES, only=only),
                    {"_of": of_customers[["customer_key"]]})


def customers(con) -> pd.Series:
    return query_df(con, CUSTOMERS_SQL)["customer_key"]


def feedback(con, of_ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every free-text item, or only those of the ``feedback_id`` column of ``of_ids``."""
    if of_ids is None:
        return query_df(con, FEEDBACK_SQL)
    return query_df(con, f"select * from ({FEEDBACK_SQL}) where feedback_id in (select feedback_id from _of) "
                         "order by 1", {"_of": of_ids[["feedback_id"]]})
