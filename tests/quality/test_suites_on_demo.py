"""Every shipped suite on the session's demo warehouse: all tables covered, all green when clean, red when broken.

The build that made the warehouse already ran each suite as a blocking check; running them
again here names the expectation that fails. The planted violations run inside a
transaction on a copy of the warehouse and are rolled back after each case.
``DEMO_WAREHOUSE=data/warehouse.duckdb pytest tests/quality/test_suites_on_demo.py`` runs the
same tests on another built warehouse (e.g. the 10,000-customer default demo, opened read-only).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.suites import discover_suites
from orchestration.settings import DBT_PROJECT_DIR

SUITES = {s.name: s for s in discover_suites()}


def _failures(result) -> str:
    return "\n".join(f"- {r.description or r.label}: observed {r.observed_value!r}"
                     + (f", {r.error}" if r.error else "") + (f", e.g. {r.details['examples'][:2]}"
                                                              if (r.details or {}).get("examples") else "")
                     for r in result.failed)


@pytest.fixture(scope="module")
def demo_database(request) -> Path:
    given = os.environ.get("DEMO_WAREHOUSE")
    return Path(given) if given else request.getfixturevalue("built_warehouse").database


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def test_every_mart_and_model_output_has_a_suite(demo_database):
    with _connect(demo_database) as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'ml')").fetchall()}
    # dbt seeds in marts are reviewed CSV files, tested by dbt when seeded (see expectations/README.md)
    seeds = {f"marts.{p.stem}" for p in (DBT_PROJECT_DIR / "seeds").glob("*.csv")}
    assert tables - seeds - set(SUITES) == set(), "tables without a suite"
    assert {n for n in SUITES if not n.startswith("raw.")} - tables == set(), "suites for tables that are not built"


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_passes_on_the_clean_demo(demo_database, name):
    with _connect(demo_database) as con:
        result = run_suite(con, SUITES[name])
    assert result.results, f"{name} has no expectations"
    assert result.success, f"{name} fails on clean demo data:\n{_failures(result)}"


@pytest.fixture(scope="module")
def writable_copy(demo_database, tmp_path_factory):
    path = tmp_path_factory.mktemp("planted") / "warehouse.duckdb"
    shutil.copy(demo_database, path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


ONE_BUYER = "(select min(customer_key) from ml.churn_scores)"

# (suite, planted violation, the meta.why of the expectation that must catch it)
PLANTED = [
    ("marts.customer_360", "delete from marts.customer_360 where customer_key = (select min(customer_key) from marts.customer_360)",
     "exactly one row per dim_customers customer"),
    ("marts.customer_360", f"update marts.customer_360 set churn_probability = null where customer_key = {ONE_BUYER}",
     "churn risk and CLV are filled for exactly the customers who have bought"),
    ("marts.cohort_retention", "update marts.cohort_retention set cumulative_revenue_per_cohort_customer = 0 "
     "where months_since_first_order = 1", "cumulative revenue per cohort customer never decreases"),
    ("marts.customer_lifecycle", "update marts.customer_lifecycle set days_since_last_purchase = 500 where customer_key = "
     "(select min(customer_key) from marts.customer_lifecycle where lifecycle_stage = 'active')",
     "stages follow recency consistently"),
    ("marts.customer_lifecycle_transitions", "update marts.customer_lifecycle_transitions set to_stage = 'prospect' "
     "where from_stage = 'new'", "nobody goes back to prospect"),
    ("marts.segment_breakdowns", "update marts.segment_breakdowns set customers = customers + 1 "
     "where breakdown_id = (select min(breakdown_id) from marts.segment_breakdowns)",
     "each breakdown partitions all customer_360 customers"),
    ("marts.kpi_daily", "delete from marts.kpi_daily where kpi_name = 'revenue' "
     "and date_day = (select max(date_day) from marts.kpi_daily)", "every day has every KPI"),
    ("marts.kpi_monthly", "update marts.kpi_monthly set kpi_value = kpi_value * 100 where kpi_name = 'repeat_purchase_rate' "
     "and kpi_value > 0", "KPI values in their range"),
    ("marts.nps_summary", "delete from marts.nps_summary where nps_summary_id = "
     "(select min(nps_summary_id) from marts.nps_summary where breakdown = 'rfm_segment')",
     "each breakdown of a month counts every answer"),
    ("marts.fct_sessions", "update marts.fct_sessions set reached_checkout = false where reached_purchase",
     "funnel flags are cumulative"),
    ("marts.fct_sessions", "update marts.fct_sessions set order_id = 'O-NOT-AN-ORDER' where session_id = "
     "(select min(session_id) from marts.fct_sessions where order_id is not null and session_date = "
     "(select min(session_date) from marts.fct_sessions where order_id is not null))",
     "the order on a web success page is a real order"),
    ("marts.dim_date", "delete from marts.dim_date where date_day = (select min(order_date) + 1 from marts.fct_orders)",
     "one row for every day between the first and the last"),
    ("ml.churn_scores", f"update ml.churn_scores set churn_probability = 1.5 where customer_key = {ONE_BUYER}",
     "churn_probability is a calibrated probability"),
    ("ml.churn_scores", f"delete from ml.churn_scores where customer_key = {ONE_BUYER}",
     "every customer who has bought (customer_lifecycle purchase_count > 0) has a churn score"),
    ("ml.churn_scores", "update ml.churn_scores set churn_probability = 1 - churn_probability",
     "the model ranks lapsing customers as riskier"),
    ("ml.churn_drivers", "update ml.churn_drivers set contribution = contribution + 10 where rank = 3",
     "reasons are ordered"),
    ("ml.customer_clv", f"update ml.customer_clv set clv = expected_spend * expected_purchases + 10 "
     f"where customer_key = {ONE_BUYER}", "discounting only lowers value"),
    ("ml.customer_clv", f"update ml.customer_clv set clv = 'NaN'::double where customer_key = {ONE_BUYER}",
     "are finite numbers"),
    ("ml.customer_segments", "insert into ml.customer_segments select * from ml.customer_segments limit 1",
     "exactly one segment per dim_customers customer"),
    ("ml.segment_profiles", "update ml.segment_profiles set n_customers = n_customers + 1 "
     "where segment_id = (select min(segment_id) from ml.segment_profiles)",
     "each profile's size is the number of customers with that segment"),
    ("ml.recommendations", "update ml.recommendations set product_id = (select min(i.product_id) from marts.fct_order_items i "
     f"where i.customer_key = {ONE_BUYER} and i.order_status <> 'cancelled') where customer_key = {ONE_BUYER} and rank = 1",
     "never recommended a product they already bought"),
    ("ml.recommendations", f"delete from ml.recommendations where customer_key = {ONE_BUYER} and rank = 2",
     "each customer gets ranks 1..N without gaps"),
    ("ml.feedback_sentiment", "delete from ml.feedback_sentiment where feedback_id = "
     "(select min(feedback_id) from ml.feedback_sentiment where feedback_source = 'ticket')",
     "every ticket with a description is analysed"),
    ("ml.feedback_topics", "update ml.feedback_topics set n_feedback = n_feedback + 1 where topic_id = 0",
     "n_feedback is the number of texts"),
    ("ml.clv_holdout_by_frequency", "delete from ml.clv_holdout_by_frequency where frequency_bucket = '1'",
     "the buckets cover the whole holdout population"),
    ("ml.model_runs", "update ml.model_runs set metrics = json_object('auc', null) where model = 'churn'",
     "has its headline metrics present and finite"),
    ("raw.orders", "update raw.orders set _loaded_at = _loaded_at - interval 5 day", "(freshness)"),
    ("marts.customer_consent_history", "update marts.customer_consent_history set marketing_consent = not marketing_consent "
     "where is_current and customer_key = (select min(customer_key) from marts.customer_consent_history)",
     "the current period agrees with dim_customers.marketing_consent"),
    ("marts.customer_consent_history", "delete from marts.customer_consent_history where is_current and customer_key = "
     "(select min(customer_key) from marts.customer_consent_history)", "every customer has a current consent state"),
]


@pytest.mark.parametrize("suite,violation,caught_by", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_a_planted_violation_turns_the_suite_red(writable_copy, suite, violation, caught_by):
    con = writable_copy
    con.execute("begin transaction")
    try:
        changed = con.execute(violation).fetchone()[0]
        assert changed > 0, f"the violation changed no row: {violation}"
        result = run_suite(con, SUITES[suite])
    finally:
        con.execute("rollback")
    failed = [r.description for r in result.failed]
    assert not result.success and any(caught_by in (why or "") for why in failed), (caught_by, failed)
    assert all(r.error is None for r in result.results), "a planted violation must fail an expectation, not break one"


def test_weeks_without_a_privacy_request_do_not_stop_the_build(writable_copy):
    """Requests come when people send them: a quiet month is not a stale feed (the other raw feeds are)."""
    con = writable_copy
    con.execute("begin transaction")
    try:
        assert con.execute("update raw.privacy_requests set _loaded_at = _loaded_at - interval 30 day").fetchone()[0]
        result = run_suite(con, SUITES["raw.privacy_requests"])
    finally:
        con.execute("rollback")
    assert result.success, _failures(result)
