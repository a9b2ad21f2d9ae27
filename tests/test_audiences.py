"""The audience rules on a hand-made customer_360, in a real DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from reporting.audiences import AudienceRules, churn_risk, resolve_rules, upsell


def _warehouse(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts; create schema ml")
    con.execute("""create table marts.customer_360 (customer_key varchar, lifecycle_stage varchar, rfm_segment varchar,
                   segment_id integer, segment_name_en varchar, segment_name_zh varchar, churn_probability double,
                   clv double)""")
    con.executemany("insert into marts.customer_360 values (?, ?, null, 1, 'S', 'S', ?, ?)", rows)
    con.execute("create table marts.dim_products (product_id varchar, product_name varchar)")
    con.execute("create table ml.recommendations (customer_key varchar, product_id varchar, rank integer)")
    return con


# 20 customers still buying with probabilities 0.01 .. 0.20, 5 lapsed ones at 0.9, one unscored.
ACTIVE = [(f"A{i:02d}", "active", i / 100, 100.0 + i) for i in range(1, 21)]
LAPSED = [(f"D{i}", "dormant", 0.9, 50.0) for i in range(5)]
UNSCORED = [("N0", "new", None, None)]


def test_default_threshold_is_the_scored_customers_mean_and_the_list_is_the_riskiest_share():
    con = _warehouse(ACTIVE + LAPSED + UNSCORED)
    rules = resolve_rules(con, AudienceRules(churn_top_share=0.25))
    mean = (sum(p for _, _, p, _ in ACTIVE) + 5 * 0.9) / 25
    assert rules.churn_min_probability == pytest.approx(mean, abs=1e-4)  # 0.294: above every active one
    assert churn_risk(con, rules).members.empty  # nobody still buying is above average risk here

    rules = resolve_rules(con, AudienceRules(churn_min_probability=0.1, churn_top_share=0.25))
    members = churn_risk(con, rules).members
    # the riskiest 25% of the 20 scored customers still buying (5), all at or above 0.10, riskiest first
    assert list(members["customer_key"]) == ["A20", "A19", "A18", "A17", "A16"]


def test_threshold_cuts_inside_the_share_and_the_cap_cuts_last():
    con = _warehouse(ACTIVE + LAPSED + UNSCORED)
    members = churn_risk(con, AudienceRules(churn_min_probability=0.18, churn_top_share=0.5)).members
    assert list(members["customer_key"]) == ["A20", "A19", "A18"]
    members = churn_risk(con, AudienceRules(churn_min_probability=0.0, churn_top_share=1.0, churn_top_n=2)).members
    assert list(members["customer_key"]) == ["A20", "A19"]


def test_upsell_leaves_out_customers_at_or_above_the_churn_threshold():
    con = _warehouse(ACTIVE + LAPSED)
    members = upsell(con, AudienceRules(churn_min_probability=0.15)).members
    # below 0.15: A01-A14; CLV at or above the median of all 25 buyers (five at 50, then 101-120: 108): A08-A20
    assert list(members["customer_key"]) == ["A14", "A13", "A12", "A11", "A10", "A09", "A08"]


def test_no_scored_customer_means_nobody_at_risk():
    con = _warehouse(UNSCORED)
    rules = resolve_rules(con, AudienceRules())
    assert churn_risk(con, rules).members.empty


@pytest.mark.parametrize("bad", [dict(churn_top_share=0), dict(churn_top_share=1.5), dict(churn_min_probability=2),
                                 dict(churn_top_n=0), dict(upsell_products=0)])
def test_rules_out_of_range_are_refused_with_the_setting_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        AudienceRules(**bad)
