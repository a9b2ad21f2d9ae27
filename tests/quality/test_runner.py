"""The runner: exact SQL semantics, GX on a bounded sample, and every shipped suite well-formed."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import pytest

from landing.contract import SOURCES
from orchestration.defs.quality import sample_checks
from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.sql_checks import SQL_EXPECTATIONS
from orchestration.defs.quality.suites import Suite, discover_suites


def _suite(name: str, *expectations: dict, **meta) -> Suite:
    return Suite(name, Path(f"{name}.json"), tuple(expectations), meta)


def _e(type_: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs}


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("create schema t")
    yield connection
    connection.close()


def test_sql_side_counts_are_exact(con):
    con.execute("""create table t.orders as select * from (values
        ('O1', 'web', 10.00, date '2026-01-02'), ('O1', 'app', 5.00, date '2026-01-03'),
        ('O2', 'fax', -1.00, date '2019-05-05'), (null, 'store', 3.00, date '2026-02-01'))
        as v(order_id, channel, amount, ordered_on)""")
    result = run_suite(con, _suite(
        "t.orders",
        _e("expect_column_values_to_be_unique", column="order_id"),
        _e("expect_column_values_to_not_be_null", column="order_id"),
        _e("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app", "store"]),
        _e("expect_column_values_to_be_between", column="amount", min_value=0),
        _e("expect_column_values_to_be_between", column="ordered_on", min_value="2020-01-01"),
        _e("expect_table_row_count_to_be_between", min_value=1, max_value=10),
        _e("unexpected_rows_expectation", unexpected_rows_query="select * from {batch} where amount > 9"),
        _e("expect_column_values_to_be_unique", column="no_such_column"),
    ))
    got = [(r.success, r.unexpected_count) for r in result.results]
    assert got == [(False, 2), (False, 1), (False, 1), (False, 1), (False, 1), (True, None), (False, 1), (False, None)]
    assert result.results[6].details == {"examples": [{"order_id": "O1", "channel": "web", "amount": "10.00",
                                                       "ordered_on": "2026-01-02"}]}
    assert "no_such_column" in result.results[7].error, "a broken expectation fails, it never passes silently"
    assert all(r.engine == "sql" for r in result.results)


def test_gx_runs_row_level_expectations_on_a_bounded_deterministic_sample(con, monkeypatch):
    rows, sample = 300_000, 5_000
    con.execute(f"""create table t.people as
        select 'P' || range as person_id,
               case when range % 1000 = 0 then 'NOT-AN-EMAIL' else 'user' || range || '@example.com' end as email,
               repeat('x', 200) as padding
        from range({rows})""")
    seen = []
    real_validate = sample_checks.validate_sample
    monkeypatch.setattr(sample_checks, "validate_sample", lambda df, *a: seen.append(len(df)) or real_validate(df, *a))
    suite = _suite("t.people",
                   _e("expect_column_values_to_be_unique", column="person_id"),
                   _e("expect_column_values_to_match_regex", column="email", regex=r"^[^@]+@[^@]+\.[a-z]+$"),
                   sample_rows=sample)

    tracemalloc.start()
    result = run_suite(con, suite)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    whole_table_in_pandas = con.execute("select * from t.people").df().memory_usage(deep=True).sum()
    assert seen == [sample], "GX only ever sees the sample"
    assert peak < whole_table_in_pandas / 5, (peak, whole_table_in_pandas)
    unique, regex = result.results
    assert (unique.engine, unique.success, unique.element_count) == ("sql", True, rows)  # exact, whole table
    assert (regex.engine, regex.success, regex.element_count) == ("gx-sample", False, sample)
    assert regex.details["table_rows"] == rows and 0 < regex.unexpected_count < sample
    assert run_suite(con, suite).results[1].unexpected_count == regex.unexpected_count, "the sample is deterministic"


def test_every_suite_is_well_formed_and_covers_every_source_and_mart():
    suites = {s.name: s for s in discover_suites()}
    assert {f"raw.{name}" for name in SOURCES} <= set(suites)
    assert {"marts.dim_customers", "marts.dim_products", "marts.fct_orders", "marts.fct_order_items",
            "marts.customer_rfm"} <= set(suites)
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    for suite in suites.values():
        for exp in suite.expectations:
            # Each expectation is a real GX 1.x expectation, whichever engine runs it.
            ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"]).to_domain_obj()
            assert exp["type"] in SQL_EXPECTATIONS or exp["type"].startswith("expect_column_values_to_match"), exp
    assert isinstance(gx.__version__, str)
