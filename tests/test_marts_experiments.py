"""experiment_results against scipy, on the demo's A/B test and on simulated experiments with known rates.

The demo's CMP003 test (true 4% vs 5% conversion per recipient still alive) has a
few hundred recipients per arm at 400 customers: far too few to detect a 1-point
lift (power about 5-10%), so on the demo we can only check the arithmetic and
that the interval covers the truth. Whether the interval and p-value behave
(95% coverage, 5% false positives) is checked on simulated campaigns: the
compiled SQL of the model runs on a synthetic campaign_events table.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
Z_975 = stats.norm.ppf(0.975)


def scipy_reference(n_t: int, x_t: int, n_c: int, x_c: int) -> dict:
    p_t, p_c = x_t / n_t, x_c / n_c
    pooled = (x_t + x_c) / (n_t + n_c)
    z = (p_t - p_c) / math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    srm = stats.chisquare([n_c, n_t], [(n_t + n_c) / 2] * 2)
    return {"z_score": z, "p_value": 2 * stats.norm.sf(abs(z)), "lift_ci95_lower": p_t - p_c - Z_975 * se,
            "lift_ci95_upper": p_t - p_c + Z_975 * se, "srm_p_value": srm.pvalue}


def test_demo_ab_test_matches_scipy_and_covers_the_true_lift(built_warehouse):
    results = built_warehouse.df("select * from marts.experiment_results where campaign_id = 'CMP003'")
    arms = results.set_index("variant")
    events = built_warehouse.df("select variant, customer_key, event_type from staging.stg_marketing__campaign_events "
                                "where campaign_id = 'CMP003'")
    exposed = events.groupby("variant")["customer_key"].nunique()
    converted = events[events["event_type"] == "convert"].groupby("variant")["customer_key"].nunique()
    assert arms.loc["treatment", "exposed"] == exposed["treatment"]
    assert arms.loc["treatment", "converted"] == converted.get("treatment", 0)
    assert arms.loc["control", "converted"] == converted.get("control", 0)

    ref = scipy_reference(exposed["treatment"], converted.get("treatment", 0), exposed["control"],
                          converted.get("control", 0))
    for column, value in ref.items():
        assert arms.loc["treatment", column] == pytest.approx(value, abs=1e-6), column

    # the planted rates hold for recipients alive at send time; per recipient (what the
    # warehouse can see) the true rate is p x the share alive, which truth.json records
    truth = json.loads((built_warehouse.truth_dir / "truth.json").read_text())["experiment"]
    realised = truth["realised"]
    true_rate = {v: truth["p_convert"][v] * realised[v]["alive"] / realised[v]["sent"] for v in ("control", "treatment")}
    true_lift = true_rate["treatment"] - true_rate["control"]
    row = arms.loc["treatment"]
    print(f"CMP003: lift {row['absolute_lift']:.4f}, 95% CI [{row['lift_ci95_lower']:.4f}, "
          f"{row['lift_ci95_upper']:.4f}], true {true_lift:.4f}, p = {row['p_value']:.3f}")
    assert row["lift_ci95_lower"] <= true_lift <= row["lift_ci95_upper"]
    assert not row["has_sample_ratio_mismatch"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Compile the model and the statistics grid against an empty database named 'sim'."""
    work = tmp_path_factory.mktemp("experiment_sql")
    database = work / "sim.duckdb"
    duckdb.connect(str(database)).close()
    env = {**os.environ, "DUCKDB_DATABASE": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).parent / "dbt")  # the venv that runs pytest
    proc = subprocess.run(
        [dbt, "compile", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
         "--select", "experiment_results", "statistics_grid"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    root = work / "target" / "compiled" / "customer_warehouse"
    return database, {"model": (root / "models" / "marts" / "experiment_results.sql").read_text(),
                      "grid": (root / "analyses" / "statistics_grid.sql").read_text()}


def test_normal_cdf_and_chi_square_approximations_match_scipy(compiled):
    database, sql = compiled
    with duckdb.connect(str(database)) as con:
        grid = con.execute(sql["grid"]).df()
    assert np.abs(grid["phi"] - stats.norm.cdf(grid["x"])).max() < 2e-7
    assert np.abs(grid["p_two_sided"] - 2 * stats.norm.sf(np.abs(grid["x"]))).max() < 3e-7
    exact = grid["df"] <= 2
    error = np.abs(grid["chi_square_p"] - stats.chi2.sf(grid["chi2"], grid["df"]))
    assert error[exact].max() < 3e-7
    # Wilson-Hilferty for df >= 3: documented as within 6e-3 (worst at df = 3)
    assert error[~exact].max() < 6e-3


def simulate(con, experiments: int, per_arm: int, p_control: float, p_treatment: float, seed: float) -> None:
    con.execute(f"select setseed({seed})")
    con.execute(f"""
        create or replace table staging.stg_marketing__campaign_events as
        with recipients as (
            select 'SIM' || lpad(cast(e as varchar), 4, '0') as campaign_id,
                   case when random() < 0.5 then 'control' else 'treatment' end as variant,
                   'c' || cast(e as varchar) || '-' || cast(i as varchar) as customer_key
            from range({experiments}) as a(e), range({2 * per_arm}) as b(i)
        ),
        flagged as (
            select *, random() < case when variant = 'treatment' then {p_treatment} else {p_control} end as converts
            from recipients
        )
        select null as campaign_event_id, campaign_id, variant, customer_key, 'sent' as event_type,
               null::timestamp as occurred_at, null as _batch_id, null::timestamp as _loaded_at from flagged
        union all
        select null, campaign_id, variant, customer_key, 'convert', null, null, null from flagged where converts
    """)
    con.execute("""
        create or replace table marts.experiment_design as
        select campaign_id, variant, 0.5::double as designed_share, variant = 'control' as is_control
        from (select distinct campaign_id from staging.stg_marketing__campaign_events),
             (select 'control' as variant union all select 'treatment')
    """)


def test_interval_coverage_and_false_positive_rate_on_simulated_experiments(compiled):
    """300 experiments of 4,000 recipients per arm (expected) with the demo's true rates,
    and 300 without any effect: the 95% interval must cover the true lift in ~95%
    of them, the test must reject a true null in ~5%, and the SRM alarm (alpha 0.001)
    must stay quiet on a fair 50/50 split."""
    database, sql = compiled
    n = 300
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists staging")
        con.execute("create schema if not exists marts")
        simulate(con, n, 4000, 0.04, 0.05, 0.42)
        effect = con.execute(sql["model"]).df()
        simulate(con, n, 4000, 0.04, 0.04, 0.17)
        null = con.execute(sql["model"]).df()

    treated = effect[effect["variant"] == "treatment"]
    assert len(treated) == n
    coverage = ((treated["lift_ci95_lower"] <= 0.01) & (0.01 <= treated["lift_ci95_upper"])).mean()
    power = (treated["p_value"] < 0.05).mean()
    null_treated = null[null["variant"] == "treatment"]
    false_positive = (null_treated["p_value"] < 0.05).mean()
    srm_alarms = effect.drop_duplicates("campaign_id")["has_sample_ratio_mismatch"].sum()
    print(f"simulated: CI coverage {coverage:.3f}, power at 4,000 per arm {power:.3f}, "
          f"false positives {false_positive:.3f}, SRM alarms {srm_alarms}/{n}")
    # binomial noise on 300 experiments is about +-2.5 points at 95%
    assert 0.91 <= coverage <= 0.99
    assert false_positive <= 0.09
    assert 0.4 <= power <= 0.9  # theory: ~0.66 for 4% vs 5% with 4,000 per arm
    assert srm_alarms <= 3

    # every simulated row also matches scipy exactly (to the model's 6 decimals)
    for row in treated.head(50).itertuples():
        ref = scipy_reference(row.exposed, row.converted, row.control_exposed, row.control_converted)
        assert row.p_value == pytest.approx(ref["p_value"], abs=1e-6)
        assert row.lift_ci95_lower == pytest.approx(ref["lift_ci95_lower"], abs=1e-6)
        assert row.srm_p_value == pytest.approx(ref["srm_p_value"], abs=1e-6)


def test_sample_ratio_mismatch_is_flagged(compiled):
    database, sql = compiled
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists staging")
        con.execute("create schema if not exists marts")
        simulate(con, 1, 5000, 0.04, 0.04, 0.3)
        # drop 10% of the treatment arm, as a broken tracker would
        con.execute("delete from staging.stg_marketing__campaign_events "
                    "where variant = 'treatment' and hash(customer_key) % 10 = 0")
        result = con.execute(sql["model"]).df()
    assert result["has_sample_ratio_mismatch"].all()
    counts = result.set_index("variant")["exposed"]
    expected = stats.chisquare([counts["control"], counts["treatment"]]).pvalue
    assert result["srm_p_value"].iloc[0] == pytest.approx(expected, abs=1e-6)
