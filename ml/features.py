"""Per-customer behavioural features at a point in time, computed in DuckDB.

Everything is computed from rows strictly before ``as_of``, so the same function
serves segmentation (as_of = today) and churn (as_of = a historical cutoff)
without leaking the future into the past.

The arithmetic is SQL so that pandas only ever holds one row per customer: at a
million customers the orders, order lines and activity behind the features are
tens of millions of rows. ``customer_features_in`` reads them where they live
(the warehouse); ``customer_features`` runs the same SQL over pandas frames.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd

# Order statuses that are not revenue: a cancelled order is not a purchase occasion.
NON_PURCHASE_STATUSES = frozenset({"cancelled"})
# Left empty (NaN) for customers who never bought; every other feature is 0 then.
UNDEFINED_WITHOUT_ORDERS = ("recency_days", "tenure_days", "inter_purchase_days")


@dataclass(frozen=True)
class FeatureSources:
    """SQL relations the features read: a table or view name, or a parenthesised query.

    orders: customer_key, order_date, net_revenue; optional order_id, discount_amount,
        channel, status (cancelled orders are ignored, returned ones count towards return_rate).
    order_items: order_id, category, and line_revenue or quantity and unit_price
        -> cat_share_<category> by revenue (needs orders.order_id).
    activity: customer_key, event_time, optional activity_type (web sessions, tickets,
        survey answers...) -> activity counts.
    """

    orders: str
    order_items: str | None = None
    activity: str | None = None


def _slug(value: str) -> str:
    return re.sub(r"[^0-9a-zA-Z\u4e00-\u9fff]+", "_", str(value)).strip("_").lower() or "unknown"


def sql_list(values) -> str:
    """Values as a list of SQL string literals, for ``in (...)``."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _require(columns, needed: set[str], name: str) -> None:
    missing = needed - set(columns)
    if missing:
        raise KeyError(f"{name} lacks column(s) {sorted(missing)}; has {list(columns)}")


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]


def _by_column_name(con, distinct_sql: str, column_name) -> dict[str, list]:
    """The distinct values ``distinct_sql`` returns, grouped under the column each slugs to, by column name.

    Values spelled alike ("Web", "web ") land in one column instead of two with the same name.
    """
    grouped: dict[str, list] = {}
    for (value,) in con.execute(distinct_sql).fetchall():
        grouped.setdefault(column_name(_slug(value)), []).append(value)
    return dict(sorted(grouped.items()))


def _timestamp(value: pd.Timestamp) -> str:
    return f"timestamp '{value.isoformat(sep=' ')}'"


@contextmanager
def _scratch(con: duckdb.DuckDBPyConnection):
    """Temporary tables with unique names, dropped afterwards even if a query fails."""
    suffix, made = uuid.uuid4().hex[:12], []

    def create(name: str, sql: str) -> str:
        table = f"features_{name}_{suffix}"
        con.execute(f"create temp table {table} as {sql}")
        made.append(table)
        return table

    try:
        yield create
    finally:
        for table in made:
            con.execute(f"drop table if exists temp.{table}")


def _shares(con, table: str, key: str, weight: str, prefix: str) -> tuple[str, list[str]] | None:
    """One row per customer: each key's share of the customer's total weight (keys with equal slugs pooled)."""
    grouped = _by_column_name(con, f"select distinct {key} from {table} order by 1", lambda slug: prefix + slug)
    if not grouped:
        return None
    columns = [f"coalesce(sum({weight}) filter (where {key} in ({sql_list(values)})) "
               f"/ nullif(sum({weight}), 0), 0) as \"{name}\"" for name, values in grouped.items()]
    return f"select customer_key, {', '.join(columns)} from {table} group by customer_key", list(grouped)


def customer_features_in(
    con: duckdb.DuckDBPyConnection,
    sources: FeatureSources,
    as_of,
    customers: str | None = None,
    recent_days: tuple[int, ...] = (30, 90),
) -> pd.DataFrame:
    """One row per customer with features known just before ``as_of``, read from ``sources`` on ``con``.

    customers (optional): a relation whose customer_key column lists ids to include
        even without history (zero features, recency and tenure NaN).

    Output columns: customer_key, recency_days, tenure_days, frequency, monetary,
    avg_order_value, inter_purchase_days, discount_share, return_rate, orders_last_<n>d,
    revenue_last_<n>d, channel_share_<channel>, cat_share_<category>, activity_last_<n>d,
    activity_<type>_last_<max n>d; every feature a float, sorted by customer_key.
    """
    cutoff = _timestamp(pd.Timestamp(as_of))
    since = {days: f"{cutoff} - interval {int(days)} day" for days in recent_days}
    present = set(relation_columns(con, sources.orders))
    _require(present, {"customer_key", "order_date", "net_revenue"}, "orders")
    optional = {c: (c if c in present else "null") for c in ("order_id", "channel", "status")}
    purchase = (f"and coalesce(cast(status as varchar), '') not in ({sql_list(sorted(NON_PURCHASE_STATUSES))})"
                if "status" in present else "")

    with _scratch(con) as create:
        orders = create("orders", f"""
            select customer_key, cast(order_date as timestamp) as order_date,
                   cast(net_revenue as double) as net_revenue,
                   {"cast(discount_amount as double)" if "discount_amount" in present else "0.0"} as discount_amount,
                   cast({optional["status"]} as varchar) as status, cast({optional["channel"]} as varchar) as channel,
                   {optional["order_id"]} as order_id
            from {sources.orders}
            where customer_key is not null and cast(order_date as timestamp) < {cutoff} {purchase}""")
        first, last = "epoch(min(order_date))", "epoch(max(order_date))"
        recency, tenure = f"(epoch({cutoff}) - {last}) / 86400.0", f"(epoch({cutoff}) - {first}) / 86400.0"
        revenue, discount = "coalesce(sum(net_revenue), 0)", "coalesce(sum(discount_amount), 0)"
        features = [
            f"{recency} as recency_days", f"{tenure} as tenure_days", "cast(count(*) as double) as frequency",
            f"{revenue} as monetary", f"{revenue} / count(*) as avg_order_value",
            # Mean gap between orders; a single order gives tenure as the best guess we have.
            f"case when count(*) > 1 then ({last} - {first}) / 86400.0 / (count(*) - 1) else {tenure} end "
            "as inter_purchase_days",
            f"coalesce({discount} / nullif({discount} + {revenue}, 0), 0) as discount_share",
            "avg(case when status = 'returned' then 1.0 else 0.0 end) as return_rate",
        ]
        for days, start in since.items():
            features += [f"cast(count(*) filter (where order_date >= {start}) as double) as orders_last_{days}d",
                         f"coalesce(sum(net_revenue) filter (where order_date >= {start}), 0) as revenue_last_{days}d"]
        parts = [(f"select customer_key, {', '.join(features)} from {orders} group by customer_key", None)]

        if "channel" in present:
            channels = create("channels", f"select customer_key, channel, net_revenue from {orders} "
                                          "where channel is not null")
            parts.append(_shares(con, channels, "channel", "net_revenue", "channel_share_"))
        if sources.order_items is not None and "order_id" in present:
            item_columns = relation_columns(con, sources.order_items)
            _require(item_columns, {"order_id", "category"}, "order_items")
            if "line_revenue" in item_columns:
                line = "cast(i.line_revenue as double)"
            else:
                _require(item_columns, {"quantity", "unit_price"}, "order_items")
                line = "cast(i.quantity as double) * cast(i.unit_price as double)"
            # Joining to the kept orders leaves lines of future or cancelled orders out.
            categories = create("categories", f"""
                select o.customer_key, cast(i.category as varchar) as category, sum({line}) as line_revenue
                from {sources.order_items} i join {orders} o on o.order_id = i.order_id
                where i.category is not null group by all""")
            parts.append(_shares(con, categories, "category", "line_revenue", "cat_share_"))
        if sources.activity is not None:
            activity = _activity_counts(con, create, sources.activity, cutoff, since)
            if activity is not None:
                parts.append(activity)

        return _assemble(con, create, [p for p in parts if p is not None], customers)


def _has_rows(con, relation: str) -> bool:
    return con.execute(f"select count(*) from (select 1 from {relation} limit 1)").fetchone()[0] > 0


def _activity_counts(con, create, relation: str, cutoff: str, since: dict[int, str]) -> tuple[str, list[str]] | None:
    """The activity part, or None when the relation has no rows at all (then no activity columns)."""
    activity_columns = relation_columns(con, relation)
    _require(activity_columns, {"customer_key", "event_time"}, "activity")
    widest = max(since)
    kind = "cast(activity_type as varchar)" if "activity_type" in activity_columns else "null"
    recent = create("activity", f"""
        select customer_key, event_time, {kind} as activity_type
        from (select * replace (cast(event_time as timestamp) as event_time) from {relation}) a
        where customer_key is not null and event_time < {cutoff} and event_time >= {since[widest]}""")
    # Asked of the small window first: the relation may be an aggregate over all clickstream, which has to
    # finish before its first row exists (2.6 s wall of the 14 s features at L).
    if not _has_rows(con, recent) and not _has_rows(con, relation):
        return None
    counts = [f"cast(count(*) filter (where event_time >= {start}) as double) as activity_last_{days}d"
              for days, start in since.items()]
    grouped = _by_column_name(con, f"select distinct activity_type from {recent} where activity_type is not null "
                                   "order by 1", lambda slug: f"activity_{slug}_last_{widest}d")
    counts += [f"cast(count(*) filter (where activity_type in ({sql_list(values)})) as double) as \"{name}\""
               for name, values in grouped.items()]
    names = [f"activity_last_{days}d" for days in since] + list(grouped)
    return f"select customer_key, {', '.join(counts)} from {recent} group by customer_key", names


def _assemble(con, create, parts, customers: str | None) -> pd.DataFrame:
    """Join the per-customer parts to the order features; a customer missing from a part has none of it."""
    tables = [create(f"part{n}", sql) for n, (sql, _) in enumerate(parts)]
    keys = f"select customer_key from {tables[0]}"
    if customers is not None:
        keys += f" union select customer_key from {customers} where customer_key is not null"
    columns, joins = [], []
    for n, (table, (_, names)) in enumerate(zip(tables, parts)):
        joins.append(f"left join {table} p{n} using (customer_key)")
        for name in names if names is not None else [c for c in relation_columns(con, table) if c != "customer_key"]:
            value = f'p{n}."{name}"'
            columns.append(value if name in UNDEFINED_WITHOUT_ORDERS else f'coalesce({value}, 0.0) as "{name}"')
    return con.execute(f"select customer_key, {', '.join(columns)} from ({keys}) everyone {' '.join(joins)} "
                       "order by customer_key").df()


@contextmanager
def registered(orders: pd.DataFrame, order_items: pd.DataFrame | None = None, activity: pd.DataFrame | None = None):
    """An in-memory DuckDB connection with the frames registered, and the ``FeatureSources`` naming them."""
    con = duckdb.connect()
    try:
        con.register("feature_orders", orders)
        for name, frame in (("feature_order_items", order_items), ("feature_activity", activity)):
            if frame is not None:
                con.register(name, frame)
        yield con, FeatureSources("feature_orders", "feature_order_items" if order_items is not None else None,
                                  "feature_activity" if activity is not None else None)
    finally:
        con.close()


def customer_features(
    orders: pd.DataFrame,
    as_of,
    order_items: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    customers: pd.Series | None = None,
    recent_days: tuple[int, ...] = (30, 90),
) -> pd.DataFrame:
    """``customer_features_in`` over pandas frames (columns as in ``FeatureSources``)."""
    with registered(orders, order_items, activity) as (con, sources):
        if customers is not None:
            con.register("feature_customers", pd.DataFrame({"customer_key": pd.Series(customers).to_numpy()}))
        return customer_features_in(con, sources, as_of, "feature_customers" if customers is not None else None,
                                    recent_days)
