"""The runner: exact SQL semantics, GX on a bounded sample, and every shipped suite well-formed."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import pytest

from landing.contract import SOURCES
from orchestration.defs.quality import sample_checks
from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.sql_checks import SQL_EXPECTATIONS, is_row_condition
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
    assert result.results[0].element_count == 3, "uniqueness counts the non-null keys, both copies of O1 among them"
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


def _raw_with_two_loads(con):
    """A raw-like table: an old load with a planted null and a planted duplicate key, and a newer load."""
    con.execute("""create table t.events as select * from (values
        ('E1', 'view', 'b-old', timestamp '2026-10-01 00:00:00'),
        ('E2', null,   'b-old', timestamp '2026-10-01 00:00:00'),
        ('E3', 'view', 'b-old', timestamp '2026-10-01 00:05:00'),
        ('E3', 'view', 'b-old', timestamp '2026-10-01 00:05:00'),
        ('E4', 'view', 'b-new', timestamp '2026-10-02 00:00:00'),
        ('E5', 'BAD',  'b-new', timestamp '2026-10-02 00:01:00'),
        ('E1', 'view', 'b-new', timestamp '2026-10-02 00:01:00'))
        as v(event_id, event_type, _batch_id, _loaded_at)""")


CHANGED_ROWS_SUITE = _suite(
    "t.events",
    _e("expect_column_values_to_not_be_null", column="event_type"),
    _e("expect_column_values_to_be_in_set", column="event_type", value_set=["view"]),
    _e("expect_column_values_to_be_unique", column="event_id"),
    _e("expect_table_row_count_to_be_between", min_value=7, max_value=7),
    _e("unexpected_rows_expectation", unexpected_rows_query="select * from {batch} x where x.event_type = 'BAD'"),
    # not a row condition (an aggregate over the table): always reads every row
    _e("unexpected_rows_expectation",
       unexpected_rows_query="select count(*) as n from {batch} having count(*) filter (where event_type is null) > 0"),
    _e("expect_column_values_to_match_regex", column="event_id", regex=r"^E[0-9]$"),
)


def test_a_partitioned_run_validates_the_newest_load_and_keys_against_every_row(con):
    _raw_with_two_loads(con)
    whole = run_suite(con, CHANGED_ROWS_SUITE)
    assert (whole.scope, whole.rows_checked) == ("every row", 7)
    assert [(r.success, r.unexpected_count) for r in whole.results][:5] == [
        (False, 1), (False, 1), (False, 4), (True, None), (False, 1)]

    changed = run_suite(con, CHANGED_ROWS_SUITE, changed_rows_only=True)
    assert (changed.scope, changed.rows_checked, changed.row_count) == ("rows of load batch b-new", 3, 7)
    not_null, in_set, unique, row_count, bad, nulls_anywhere, regex = changed.results
    # the old load's null is not read again; the new load's value outside the set is
    assert (not_null.success, not_null.unexpected_count, not_null.element_count) == (True, 0, 3)
    assert (in_set.success, in_set.unexpected_count) == (False, 1)
    # E1 came again in the new load: both copies count; the old duplicate E3 is not read again
    assert (unique.success, unique.unexpected_count, unique.element_count) == (False, 2, 4)
    assert (row_count.success, row_count.observed_value) == (True, 7)
    assert (bad.success, bad.unexpected_count) == (False, 1)
    assert nulls_anywhere.success is False, "a query that is not a row condition reads every row"
    assert regex.element_count == 3 and regex.details["rows_sampled_from"] == "rows of load batch b-new"


def test_an_incremental_model_is_validated_on_its_newest_build_and_a_table_without_stamps_whole(con):
    con.execute("""create table t.facts as select * from (values
        ('O1', -5.0, timestamp '2026-10-01 03:00:00'), ('O2', 7.0, timestamp '2026-10-02 03:00:00'))
        as v(order_id, amount, _built_at)""")
    con.execute("create table t.plain as select * from (values ('O1', -5.0)) as v(order_id, amount)")
    positive = _e("expect_column_values_to_be_between", column="amount", min_value=0)
    facts = run_suite(con, _suite("t.facts", positive), changed_rows_only=True)
    assert (facts.success, facts.rows_checked, facts.scope) == (True, 1, "rows built at 2026-10-02 03:00:00")
    assert run_suite(con, _suite("t.facts", positive)).success is False
    plain = run_suite(con, _suite("t.plain", positive), changed_rows_only=True)
    assert (plain.success, plain.scope) == (False, "every row")


@pytest.mark.parametrize("query, row_condition", [
    ("select * from {batch} where amount < 0", True),
    ("SELECT * FROM {batch} x WHERE x.order_id is null", True),
    ("select * from {batch} where amount > (select avg(amount) from {batch})", False),
    ("select max(_loaded_at) from {batch} having max(_loaded_at) < now()", False),
    ("with latest as (select max(t) from {batch}) select * from latest", False),
    ("select * from (select max(day) as d from {batch}) where d < current_date", False),
])
def test_only_row_shaped_queries_read_the_new_rows(query, row_condition):
    assert is_row_condition(query) is row_condition
