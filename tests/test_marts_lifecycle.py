"""Lifecycle, cohorts and KPIs recomputed in pandas, and the churned stage scored against the planted truth.

Churn needs more than the 120-day threshold of history, and the shared demo
(`built_warehouse`) covers 90 days, so this module builds its own 400-customer,
365-day demo through the same CLI (about as fast: the build time is mostly fixed cost).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from warehouse_build import DEMO_CUSTOMERS, PROJECT_ROOT, BuiltWarehouse, warehouse_env

NEW_DAYS, ACTIVE_DAYS, CHURN_DAYS = 30, 60, 120  # dbt_project.yml vars
YEAR_DAYS = 365


@pytest.fixture(scope="module")
def year_warehouse(tmp_path_factory) -> BuiltWarehouse:
    data_dir = tmp_path_factory.mktemp("year_warehouse") / "data"
    env = warehouse_env(data_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration", "build", "--customers", str(DEMO_CUSTOMERS), "--days", str(YEAR_DAYS)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`python -m orchestration build --days {YEAR_DAYS}` failed:\n{output[-6000:]}"
    return BuiltWarehouse.after_build(data_dir, env, output)


def purchases(wh: BuiltWarehouse) -> pd.DataFrame:
    """Purchases = orders not cancelled, from fct_orders, independent of the dbt intermediate model."""
    df = wh.df("select order_id, customer_key, ordered_at, order_date, status, net_revenue from marts.fct_orders "
               "where status <> 'cancelled'")
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["net_revenue"] = df["net_revenue"].astype(float)
    return df.sort_values(["customer_key", "ordered_at", "order_id"])


def stage_as_of(p: pd.DataFrame, customers: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """The lifecycle rule written out independently of the SQL macro."""
    p = p[p["order_date"] <= as_of].copy()
    p["gap"] = p.groupby("customer_key")["order_date"].diff().dt.days
    first = p.groupby("customer_key")["order_date"].min()
    last = p.groupby("customer_key")["order_date"].max()
    react = p[p["gap"] > CHURN_DAYS].groupby("customer_key")["order_date"].max()
    out = {}
    for c in customers:
        if c not in last.index:
            out[c] = "prospect"
            continue
        since_first = (as_of - first[c]).days
        since_last = (as_of - last[c]).days
        if since_first < NEW_DAYS:
            out[c] = "new"
        elif since_last > CHURN_DAYS:
            out[c] = "churned"
        elif since_last >= ACTIVE_DAYS:
            out[c] = "dormant"
        elif c in react.index and (as_of - react[c]).days < ACTIVE_DAYS:
            out[c] = "reactivated"
        else:
            out[c] = "active"
    return pd.Series(out)


@pytest.fixture(scope="module")
def lifecycle(year_warehouse) -> pd.DataFrame:
    return year_warehouse.df("select * from marts.customer_lifecycle").set_index("customer_key")


def test_lifecycle_stage_recomputed_in_pandas(year_warehouse, lifecycle):
    reference = pd.Timestamp(lifecycle["reference_date"].iloc[0])
    assert reference == pd.Timestamp(year_warehouse.query("select max(order_date) from marts.fct_orders")[0][0])
    expected = stage_as_of(purchases(year_warehouse), lifecycle.index, reference)
    mismatched = (lifecycle["lifecycle_stage"] != expected[lifecycle.index])
    assert not mismatched.any(), lifecycle[mismatched].head()
    # every stage shows up in a year of data, so every rule was exercised
    assert set(lifecycle["lifecycle_stage"]) == {"prospect", "new", "active", "reactivated", "dormant", "churned"}


def test_churned_stage_agrees_with_hidden_alive_until(year_warehouse, lifecycle):
    """Planted truth: a customer whose alive_until is before the data ends has really left.

    Stated rate: the churned / not churned call agrees with the truth for at least
    85% of buyers (92% measured on the 2000-customer demo), and at least half of
    the customers called churned really are gone (precision; 77% at 2000).
    """
    truth = year_warehouse.customers_truth().set_index("customer_key")
    buyers = lifecycle[lifecycle["lifecycle_stage"] != "prospect"]
    end = pd.Timestamp(lifecycle["reference_date"].iloc[0]) + pd.Timedelta(days=1)
    gone = truth.loc[buyers.index, "alive_until"] < end
    called = buyers["is_churned"].astype(bool)
    accuracy = float((called == gone).mean())
    precision = float(gone[called].mean())
    recall = float(called[gone].mean())
    print(f"churn vs alive_until on {len(buyers)} buyers: accuracy {accuracy:.3f}, "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert accuracy >= 0.85
    assert precision >= 0.5
    # nobody who is still alive and bought in the last 60 days can be called churned
    assert not (called & (buyers["days_since_last_purchase"] < ACTIVE_DAYS)).any()


def test_month_end_stages_recomputed_and_transitions_reconcile(year_warehouse):
    monthly = year_warehouse.df("select * from marts.customer_lifecycle_monthly")
    p = purchases(year_warehouse)
    for stage_date, rows in monthly.groupby("stage_date"):
        expected = stage_as_of(p, rows["customer_key"], pd.Timestamp(stage_date))
        assert (rows["lifecycle_stage"].to_numpy() == expected[rows["customer_key"]].to_numpy()).all(), stage_date

    monthly = monthly.sort_values(["customer_key", "month_start"])
    monthly["from_stage"] = monthly.groupby("customer_key")["lifecycle_stage"].shift().fillna("entered")
    expected = (monthly.groupby(["month_start", "from_stage", "lifecycle_stage"]).size()
                .rename("customer_count").reset_index().rename(columns={"lifecycle_stage": "to_stage"}))
    actual = year_warehouse.df("select month_start, from_stage, to_stage, customer_count "
                               "from marts.customer_lifecycle_transitions")
    merged = expected.merge(actual, on=["month_start", "from_stage", "to_stage"], how="outer",
                            suffixes=("_expected", "_actual"))
    assert (merged["customer_count_expected"] == merged["customer_count_actual"]).all()
    # the moves the issue asks about are there
    moves = set(zip(actual["from_stage"], actual["to_stage"]))
    assert {("new", "active"), ("active", "dormant"), ("churned", "reactivated")} <= moves


def test_cohort_retention_recomputed_in_pandas(year_warehouse):
    p = purchases(year_warehouse)
    p["month"] = p["order_date"].dt.to_period("M")
    cohort = p.groupby("customer_key")["month"].min().rename("cohort")
    p = p.join(cohort, on="customer_key")
    p["k"] = (p["month"] - p["cohort"]).apply(lambda d: d.n)
    sizes = cohort.value_counts()
    retained = p.groupby(["cohort", "k"])["customer_key"].nunique()
    revenue = p.groupby(["cohort", "k"])["net_revenue"].sum()

    actual = year_warehouse.df("select * from marts.cohort_retention")
    actual["cohort"] = pd.to_datetime(actual["cohort_month"]).dt.to_period("M")
    last = p["month"].max()
    assert len(actual) == sum((last - c).n + 1 for c in sizes.index)
    for row in actual.itertuples():
        key = (row.cohort, row.months_since_first_order)
        n = sizes[row.cohort]
        assert row.cohort_customers == n
        assert row.retained_customers == retained.get(key, 0), key
        assert row.retention_rate == pytest.approx(retained.get(key, 0) / n)
        assert row.revenue_per_cohort_customer == pytest.approx(revenue.get(key, 0.0) / n, abs=1e-6)


def test_kpis_recomputed_in_pandas(year_warehouse):
    p = purchases(year_warehouse)
    reference = p["order_date"].max()
    daily = year_warehouse.df("select date_day, kpi_name, kpi_value from marts.kpi_daily").pivot(
        index="date_day", columns="kpi_name", values="kpi_value")
    daily.index = pd.to_datetime(daily.index)
    days = pd.date_range(p["order_date"].min(), reference)
    assert list(daily.index) == list(days)

    # active = bought in the last 60 days; churned on day t = last purchase exactly 121 days before
    distinct = p[["customer_key", "order_date"]].drop_duplicates().sort_values(["customer_key", "order_date"])
    distinct["next"] = distinct.groupby("customer_key")["order_date"].shift(-1)
    for t in days[::7]:
        window = distinct[(distinct["order_date"] <= t) & (distinct["order_date"] > t - pd.Timedelta(days=ACTIVE_DAYS))]
        assert daily.loc[t, "active_customers"] == window["customer_key"].nunique(), t
        churn_day = distinct["order_date"] + pd.Timedelta(days=CHURN_DAYS + 1)
        churned = ((churn_day == t) & ~(distinct["next"] <= t)).sum()
        base = distinct[(distinct["order_date"] <= t - pd.Timedelta(days=1))
                        & (distinct["order_date"] >= t - pd.Timedelta(days=CHURN_DAYS + 1))]["customer_key"].nunique()
        expected_rate = churned / base if base else np.nan
        assert daily.loc[t, "churn_rate"] == pytest.approx(expected_rate, nan_ok=True), t

    first = p.groupby("customer_key")["order_date"].min()
    by_day = p.groupby("order_date")
    completed = p[p["status"] == "completed"].groupby("order_date").size()
    for t in days[::5]:
        if t not in by_day.groups:
            assert daily.loc[t, "orders"] == 0
            continue
        g = by_day.get_group(t)
        assert daily.loc[t, "orders"] == len(g)
        assert daily.loc[t, "revenue"] == pytest.approx(g["net_revenue"].sum())
        assert daily.loc[t, "new_customers"] == (first == t).sum()
        assert daily.loc[t, "purchasing_customers"] == g["customer_key"].nunique()
        returning = (first[g["customer_key"].unique()] < t).sum()
        assert daily.loc[t, "repeat_purchase_rate"] == pytest.approx(returning / g["customer_key"].nunique())
        if completed.get(t, 0):
            assert daily.loc[t, "aov"] == pytest.approx(g["net_revenue"].sum() / completed[t])

    monthly = year_warehouse.df("select month_start, kpi_name, kpi_value, target_value, gap_to_target "
                                "from marts.kpi_monthly")
    wide = monthly.pivot(index="month_start", columns="kpi_name", values="kpi_value")
    wide.index = pd.to_datetime(wide.index)
    p["month"] = p["order_date"].dt.to_period("M").dt.start_time
    for month, g in p.groupby("month"):
        assert wide.loc[month, "purchasing_customers"] == g["customer_key"].nunique()
        assert wide.loc[month, "purchase_frequency"] == pytest.approx(len(g) / g["customer_key"].nunique())
    survey = year_warehouse.df("select responded_at, nps_score from staging.stg_survey__responses")
    survey["month"] = pd.to_datetime(survey["responded_at"]).dt.to_period("M").dt.start_time
    for month, g in survey.groupby("month"):
        if month in wide.index:
            expected = 100 * ((g["nps_score"] >= 9).mean() - (g["nps_score"] <= 6).mean())
            assert wide.loc[month, "nps"] == pytest.approx(expected)
    with_target = monthly.dropna(subset=["target_value", "kpi_value"])
    assert len(with_target) > 0
    assert np.allclose(with_target["gap_to_target"], with_target["kpi_value"] - with_target["target_value"])
