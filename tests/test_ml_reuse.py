"""When a model asset refits and when it hands on its last training (orchestration/defs/ml/reuse.py).

The decision is a pure function of the last ``ml.model_runs`` row; test_ml_assets.py
runs it for real on a copy of the built warehouse.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from orchestration.defs.ml.churn import ChurnConfig
from orchestration.defs.ml.reuse import RetrainPolicy, model_params, retrain_reason

CODE = "c0de" * 16
REFERENCE = pd.Timestamp("2026-12-05")


def last_run(**overrides) -> dict:
    row = {"model_run_id": "churn-1234abcd", "code_version": CODE, "passed_baseline": True,
           "params": json.dumps({"horizon_days": 90, "seed": 0, "active_within_days": None,
                                 "horizon_days_used": 30, "served_model": "gbm"}),
           "reference_date": REFERENCE - pd.Timedelta(days=3)}
    return {**row, **overrides}


def reason(last, policy=RetrainPolicy(), reference=REFERENCE, params=None):
    params = params if params is not None else model_params(ChurnConfig())
    return retrain_reason(last, code=CODE, params=params, reference=reference, policy=policy)


def test_a_fresh_passing_model_of_the_same_code_and_parameters_is_reused():
    assert reason(last_run()) is None
    assert reason(last_run(passed_baseline=None)) is None, "not judged (too little data) is not a failure"
    assert reason(last_run(reference_date=REFERENCE)) is None
    assert reason(last_run(), RetrainPolicy(max_model_age_days=3)) is None


@pytest.mark.parametrize(("last", "policy", "expected"), [
    (None, RetrainPolicy(), "no trained model yet"),
    (last_run(), RetrainPolicy(force_retrain=True), "force_retrain"),
    (last_run(passed_baseline=False), RetrainPolicy(), "failed its baseline check"),
    (last_run(code_version="f" * 64), RetrainPolicy(), "model code changed"),
    (last_run(), RetrainPolicy(max_model_age_days=2), "3 days older than the data"),
    (last_run(reference_date=REFERENCE + pd.Timedelta(days=1)), RetrainPolicy(), "data ends before"),
    (last_run(reference_date=None), RetrainPolicy(), "predates recorded reference dates"),
])
def test_each_reason_to_refit_is_named(last, policy, expected):
    assert expected in reason(last, policy)


def test_changed_model_parameters_refit_but_the_policy_fields_are_not_parameters():
    changed = reason(last_run(), params=model_params(ChurnConfig(horizon_days=60)))
    assert "parameters changed" in changed and "horizon_days 90 -> 60" in changed
    # The horizon actually used on a short window is recorded apart and does not count as a change.
    assert "force_retrain" not in model_params(ChurnConfig(force_retrain=True))
    assert reason(last_run(), params=model_params(ChurnConfig(max_model_age_days=1))) is None


def test_a_model_runs_table_from_before_reuse_gets_the_column_and_its_models_refit(tmp_path):
    import duckdb

    from orchestration.defs.ml.reuse import last_training

    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute("create schema ml")
        # the table as the code before model reuse created it: no reference_date
        con.execute("""create table ml.model_runs (model_run_id varchar not null, model varchar not null,
                       code_version varchar not null, data_snapshot varchar not null, trained_at timestamp not null,
                       params json, metrics json, baseline_metrics json, passed_baseline boolean,
                       baseline_verdict varchar, dagster_run_id varchar, artifact_path varchar)""")
        con.execute("insert into ml.model_runs values ('churn-1', 'churn', ?, 'd', now(), '{}', '{}', '{}', true, "
                    "'ok', 'run', '/x.pkl')", [CODE])
        assert last_training(con, "feedback") is None
        last = last_training(con, "churn")
        assert last["model_run_id"] == "churn-1" and last["reference_date"] is None
        assert "predates recorded reference dates" in reason(last, params={})
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        assert last_training(con, "churn") is None, "a warehouse no model ran in yet"
