"""When a model asset may hand on its last trained model instead of refitting, and how it loads that model.

Refitting every model in every daily build was most of a daily run (at M: 294 s of
651, the churn model alone 148 s), while a model fitted a few days ago scores today's
customers as well: the scoring assets compute today's features and apply it. So a
model asset refits only when one of these holds, and its metadata says which:

- the run forces it (``force_retrain``; the weekly ``retrain_models`` job does);
- no model was trained yet, or the last training failed its baseline check;
- the model code (the ``ml`` package) or the asset's parameters changed since;
- the data's reference date is more than ``max_model_age_days`` after the model's, or
  before it (the warehouse was rebuilt from older files, so the model saw days the
  data no longer has);
- the artifact is missing or fails its checksum (an erasure deletes every artifact,
  so no model trained on an erased person's data is used again).

Only the latest training of a model is a candidate: if that one is unusable the
asset refits, rather than reaching back to an older model the scoring tables'
suites would not accept (they require the latest run of each model).
"""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pandas as pd

from ml import artifacts

from . import common
from .common import TrainedModel, Verdict


class RetrainPolicy(dg.Config):
    """Mixed into each model asset's config; these two fields are not model parameters."""

    force_retrain: bool = False
    max_model_age_days: int = 7


POLICY_FIELDS = tuple(RetrainPolicy.model_fields)


def force_retrain_config(model_assets) -> dict:
    """Run config making these model assets refit however fresh their last training is."""
    return {"ops": {asset.op.name: {"config": {"force_retrain": True}} for asset in model_assets}}


def model_params(config: dg.Config) -> dict:
    """The config that shapes the model: what ``ml.model_runs.params`` records and reuse compares."""
    return {k: v for k, v in config.model_dump().items() if k not in POLICY_FIELDS}


def last_training(con: duckdb.DuckDBPyConnection, model: str) -> dict | None:
    """The latest ``ml.model_runs`` row of ``model`` as a dict, or None when it was never trained."""
    found = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                        "and table_name = 'model_runs'", [common.SCHEMA]).fetchone()[0]
    if not found:
        return None
    common.ensure_model_runs(con)
    columns = ", ".join(common.MODEL_RUNS_COLUMNS)
    row = con.execute(f"select {columns} from {common.SCHEMA}.model_runs where model = ? "
                      "order by trained_at desc limit 1", [model]).fetchone()
    return dict(zip(common.MODEL_RUNS_COLUMNS, row)) if row else None


def retrain_reason(last: dict | None, *, code: str, params: dict, reference: pd.Timestamp,
                   policy: RetrainPolicy) -> str | None:
    """Why the model must be refitted now, or None when ``last`` may score this data."""
    if policy.force_retrain:
        return "refit requested (force_retrain)"
    if last is None:
        return "no trained model yet"
    run = last["model_run_id"]
    if last["passed_baseline"] is False:
        return f"the last training ({run}) failed its baseline check"
    if last["code_version"] != code:
        return f"the model code changed since {run} (code {last['code_version'][:12]} -> {code[:12]})"
    recorded = json.loads(last["params"] or "{}")
    changed = sorted(k for k, v in params.items() if recorded.get(k) != v)
    if changed:
        return f"parameters changed since {run}: " + ", ".join(f"{k} {recorded.get(k)!r} -> {params[k]!r}"
                                                                  for k in changed)
    if last["reference_date"] is None:
        return f"{run} predates recorded reference dates"
    age = (reference - pd.Timestamp(last["reference_date"])).days
    if age < 0:
        return (f"the data ends before {run}'s (reference {reference.date()} < {pd.Timestamp(last['reference_date']).date()}): "
                "that model saw days this warehouse no longer has")
    if age > policy.max_model_age_days:
        return f"{run} is {age} days older than the data (max_model_age_days {policy.max_model_age_days})"
    return None


def reuse_last_model(con: duckdb.DuckDBPyConnection, model: str, config: RetrainPolicy,
                     reference: pd.Timestamp) -> tuple[TrainedModel | None, str]:
    """(the last trained model, why it is used) when it may score this data, else (None, why to refit).

    ``config`` is the model asset's config: its model parameters are compared, its policy fields applied.
    """
    last = last_training(con, model)
    reason = retrain_reason(last, code=common.model_code_sha(model), params=model_params(config), reference=reference,
                            policy=config)
    if reason is not None:
        return None, reason
    try:
        obj, _ = artifacts.load_model(common.models_dir(), model, last["code_version"], last["data_snapshot"])
    except (FileNotFoundError, ValueError) as err:
        return None, f"the artifact of {last['model_run_id']} cannot be used ({err})"
    age = (reference - pd.Timestamp(last["reference_date"])).days
    trained = TrainedModel(
        name=model, model=obj, metrics=json.loads(last["metrics"] or "{}"),
        baseline_metrics=json.loads(last["baseline_metrics"] or "{}"), params=json.loads(last["params"] or "{}"),
        verdict=Verdict(last["passed_baseline"], last["baseline_verdict"] or ""),
        model_run_id=last["model_run_id"], code_version=last["code_version"], data_snapshot=last["data_snapshot"],
        artifact_path=last["artifact_path"], reference_date=str(pd.Timestamp(last["reference_date"]).date()),
        retrained=False,
    )
    return trained, (f"scoring with {last['model_run_id']}, trained on data up to {trained.reference_date} "
                     f"({age} day(s) before this data; refits when older than {config.max_model_age_days})")


def reused_output(trained: TrainedModel, decision: str) -> dg.Output:
    """The model asset's output when it hands on ``trained``: the same run metadata, marked as not refitted."""
    return dg.Output(trained, metadata={
        **trained.run_metadata(), **common.float_metadata(trained.metrics), "retrain_decision": decision,
    })
