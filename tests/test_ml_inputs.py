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
