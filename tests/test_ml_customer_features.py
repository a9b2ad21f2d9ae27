"""ml.customer_features is read by the scoring assets only when it is as of the data's reference date.

The asset itself runs in every build (tests/test_ml_assets.py and the suites check its table);
these tests pin what a scoring asset does with a missing or stale feature table.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.defs.ml import customer_features

REFERENCE = pd.Timestamp("2026-10-31")


@pytest.fixture
def con():
    with duckdb.connect() as c:
        c.execute("create schema ml")
        yield c


def _store(con, reference_date: str) -> None:
    con.execute("create or replace table ml.customer_features (customer_key varchar, recency_days double, "
                "frequency double, reference_date date)")
    con.execute("insert into ml.customer_features values ('b', 3, 2, ?), ('a', null, 1, ?)",
                [reference_date, reference_date])


def test_features_of_the_reference_date_are_read_without_it_sorted_by_customer(con):
    _store(con, "2026-10-31")
    frame = customer_features.read(con, REFERENCE)
    assert list(frame.columns) == ["customer_key", "recency_days", "frequency"]
    assert frame["customer_key"].tolist() == ["a", "b"]
    assert frame["recency_days"].isna().tolist() == [True, False]


def test_stale_or_missing_features_stop_the_scoring_with_what_to_do(con):
    with pytest.raises(RuntimeError, match="does not exist: materialize ml/customer_features"):
        customer_features.read(con, REFERENCE)
    _store(con, "2026-10-30")
    with pytest.raises(RuntimeError, match="is as of 2026-10-30, but the data's reference date is 2026-10-31"):
        customer_features.read(con, REFERENCE)


def test_an_empty_feature_table_is_current(con):
    _store(con, "2026-10-31")
    con.execute("delete from ml.customer_features")
    assert customer_features.read(con, REFERENCE).empty
