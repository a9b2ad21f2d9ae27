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


def _orders(con) -> None:
    con.execute("create schema marts")
    con.execute("""create table marts.fct_orders as
        select 'c' || (i % 37) as customer_key, 'o' || i as order_id,
               date '2025-01-01' + cast((i * 7919) % 400 as integer) as order_date,
               timestamp '2025-01-01 08:00' + to_days(cast((i * 7919) % 400 as integer)) + to_minutes(i % 600) as ordered_at,
               case when i % 11 = 0 then 'cancelled' when i % 13 = 0 then null else 'completed' end as status,
               cast(((i * 31) % 9000) / 100.0 as decimal(18, 2)) as net_revenue
        from range(2000) r(i)
        union all  -- three orders on one day, twice (the second in the holdout below), an anonymous order
        select 'c1', 'same' || i, date '2025-03-03', timestamp '2025-03-03 09:00' + to_minutes(i), 'completed',
               cast(10.10 + i as decimal(18, 2)) from range(3) r(i)
        union all
        select 'c2', 'basket' || i, date '2025-11-15', timestamp '2025-11-15 09:00' + to_minutes(i), 'completed',
               cast(3.50 + i as decimal(18, 2)) from range(3) r(i)
        union all
        select null, 'anon', date '2025-03-04', timestamp '2025-03-04 09:00', 'completed', 5.00
        union all  -- a buyer who first buys in the holdout below, one who buys once before it
        select 'late', 'late1', date '2025-12-01', timestamp '2025-12-01 09:00', 'completed', 7.00
        union all
        select 'quiet', 'quiet1', date '2025-02-01', timestamp '2025-02-01 09:00', 'completed', 8.00""")


def _transactions(con) -> pd.DataFrame:
    """Every purchase occasion as its own row: what the per-buyer aggregates in DuckDB summarise."""
    return inputs.query_df(con, f"""select customer_key, order_date as date, cast(net_revenue as double) as amount
                                     from {inputs.CLV_ORDERS} order by customer_key, ordered_at, order_id""")


def test_clv_purchase_days_from_duckdb_give_the_summary_of_the_orders_themselves():
    """Fitting and scoring summarise each buyer in DuckDB (one row per customer); the summary must be the
    one ``rfm_summary`` makes from every order: same-day orders one occasion, days after the cut left out."""
    from ml.clv import rfm_summary, summary_from_purchase_days

    con = duckdb.connect()
    _orders(con)
    last_day = pd.Timestamp("2025-12-31")
    expected = rfm_summary(_transactions(con), last_day)
    per_customer = inputs.clv_purchase_days(con, last_day.date())
    assert per_customer["last_day"].max() <= last_day  # orders after the cut are left out in DuckDB
    got = summary_from_purchase_days(per_customer, last_day)
    assert len(got) == len(expected) == 39
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert got["frequency"].gt(0).sum() == 37 and got["T"].gt(got["recency"]).any()


def test_clv_holdout_from_duckdb_is_the_calibration_holdout_summary_of_the_orders():
    """The CLV model's validation reads each calibration buyer's days and holdout purchase days from
    DuckDB; they must give ``calibration_holdout_summary`` of the orders (holdout bounded on both sides,
    same-day orders one occasion, buyers new in the holdout left out)."""
    from ml.clv import calibration_holdout_summary, summary_from_purchase_days, with_holdout

    con = duckdb.connect()
    _orders(con)
    cal_end, hold_end = pd.Timestamp("2025-10-01"), pd.Timestamp("2025-12-31")
    expected = calibration_holdout_summary(_transactions(con), cal_end, hold_end)
    holdout = inputs.clv_holdout_days(con, cal_end.date(), hold_end.date())
    got = with_holdout(summary_from_purchase_days(inputs.clv_purchase_days(con, cal_end.date()), cal_end), holdout,
                       cal_end, hold_end)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert "late" in holdout.index and "late" not in set(got["customer_key"])
    assert got["frequency_holdout"].gt(0).sum() > 10 and got["frequency_holdout"].eq(0).any()
    # Orders after the holdout (2026) are not counted: at most one purchase day per day of the holdout.
    assert got["frequency_holdout"].max() <= (hold_end - cal_end).days
