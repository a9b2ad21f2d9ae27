"""Reading model inputs out of the warehouse (orchestration/defs/ml/inputs.py)."""

import datetime as dt

import duckdb
import pandas as pd

from orchestration.defs.ml import inputs


def test_a_streamed_read_starts_beside_a_half_read_result_and_gives_datetimes(monkeypatch):
    con = duckdb.connect()
    con.execute("create table t as select 'c' || i as customer_key, date '2024-01-01' + cast(i as integer) as day from range(25) r(i)")
    assert con.execute("select max(day) from t").fetchone()[0] == dt.date(2024, 1, 25)  # left unfinished
    monkeypatch.setattr(inputs, "BATCH_ROWS", 4)  # several batches
    frame = inputs.query_df(con, "select * from t order by day")
    assert len(frame) == 25 and frame["customer_key"].iloc[-1] == "c24"
    assert pd.api.types.is_datetime64_any_dtype(frame["day"])
    assert frame["day"].is_monotonic_increasing


def test_clv_purchase_days_from_duckdb_give_the_summary_of_the_orders_themselves():
    """Scoring summarises each buyer in DuckDB (one row per customer); the summary must be the one
    ``rfm_summary`` makes from every order: same-day orders one occasion, cancelled and anonymous orders
    and days after the cut left out."""
    from ml.clv import rfm_summary, summary_from_purchase_days

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.fct_orders as
        select 'c' || (i % 37) as customer_key, 'o' || i as order_id,
               date '2025-01-01' + cast((i * 7919) % 400 as integer) as order_date,
               timestamp '2025-01-01 08:00' + to_days(cast((i * 7919) % 400 as integer)) + to_minutes(i % 600) as ordered_at,
               case when i % 11 = 0 then 'cancelled' when i % 13 = 0 then null else 'completed' end as status,
               cast(((i * 31) % 9000) / 100.0 as decimal(18, 2)) as net_revenue
        from range(2000) r(i)
        union all  -- three orders on one day, an anonymous order
        select 'c1', 'same' || i, date '2025-03-03', timestamp '2025-03-03 09:00' + to_minutes(i), 'completed',
               cast(10.10 + i as decimal(18, 2)) from range(3) r(i)
        union all
        select null, 'anon', date '2025-03-04', timestamp '2025-03-04 09:00', 'completed', 5.00""")
    last_day = pd.Timestamp("2025-12-31")
    expected = rfm_summary(inputs.clv_transactions(con), last_day)
    per_customer = inputs.clv_purchase_days(con, last_day.date())
    assert per_customer["last_day"].max() <= last_day  # orders after the cut are left out in DuckDB
    got = summary_from_purchase_days(per_customer, last_day)
    assert len(got) == len(expected) == 37
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert (got["frequency"] > 0).all() and got["T"].gt(got["recency"]).any()
