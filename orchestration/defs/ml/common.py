"""What every ML asset shares: asset attributes, the trained-model envelope, table writes, run history.

The model assets return a ``TrainedModel`` through the IO manager, so the scoring
asset downstream receives exactly the object the model asset handed on in this run
(never "the latest file on disk"); the same object is also saved with ``ml.artifacts``
under ``$DATA_DIR/models`` so a run's model can be inspected or reloaded by its hashes.

A model asset refits only when its last training is stale (``reuse``): the daily
build scores every customer with models the weekly ``retrain_models`` job refits.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ml import artifacts

GROUP = "ml"
KINDS = {"python", "scikit-learn", "duckdb"}
OWNERS = ["team:data-science"]
# Every ML step writes to the warehouse file, so it queues behind dbt and ingest like they do.
POOL = "duckdb_writer"
SCHEMA = "ml"


def mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def staging(name: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", name])


def ml_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([SCHEMA, name])


@dataclass(frozen=True)
class Verdict:
    """Did the model beat its baseline, and in words why (shown on the check and in model_runs)."""

    passed: bool | None  # None: not enough data to judge
    reason: str


@dataclass
class TrainedModel:
    name: str
    model: Any
    metrics: dict
    baseline_metrics: dict
    params: dict
    verdict: Verdict
    model_run_id: str
    code_version: str
    data_snapshot: str
    artifact_path: str | None
    reference_date: str
    extra: dict = field(default_factory=dict)
    # False when this run handed on an earlier run's model (``reuse_last_model``); that run's id stays.
    retrained: bool = True

    def run_metadata(self) -> dict:
        return {
            "model_run_id": self.model_run_id,
            "code_version": self.code_version[:12],
            "data_snapshot": self.data_snapshot[:12],
            "artifact_path": dg.MetadataValue.path(self.artifact_path) if self.artifact_path else "not saved",
            "reference_date": self.reference_date,
            "passed_baseline": "n/a" if self.verdict.passed is None else self.verdict.passed,
            "baseline_verdict": self.verdict.reason,
            "retrained": self.retrained,
        }


def models_dir() -> Path:
    from orchestration.settings import Settings

    return Settings.from_env().data_dir / "models"


def new_model_run_id(context: dg.AssetExecutionContext, model: str) -> str:
    # One id per (Dagster run, model): reruns on the same data stay distinguishable in ml.model_runs.
    return f"{model}-{context.run.run_id[:8]}"


# The ml modules each model's fitted object and its inputs come from (with what they import): a
# model's code version moves when those change, so an edit to one model refits that model alone.
# Segmentation learns on the customer features ml.features defines; churn imports them itself.
MODEL_CODE = {
    "churn": ("ml.churn",),
    "clv": ("ml.clv",),
    "feedback": ("ml.feedback_text",),
    "recommender": ("ml.recommend",),
    "segmentation": ("ml.segmentation", "ml.features"),
}


def model_code_sha(model: str) -> str:
    return artifacts.code_sha(modules=MODEL_CODE[model])


def save_artifact(obj, model: str, data_snapshot: str, metrics: dict, params: dict) -> tuple[str, Path]:
    code = model_code_sha(model)
    path = artifacts.save_model(obj, models_dir(), model, code, data_snapshot, metrics, params)
    return code, path


def reference_date(con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """The day after the latest order: models see everything that happened "before today".

    Derived from the data rather than the wall clock, so a rebuild of the same
    landing files gives the same scores on any day.
    """
    latest = con.execute("select max(order_date) from marts.fct_orders").fetchone()[0]
    if latest is None:
        raise ValueError("marts.fct_orders is empty: load orders (raw.orders) and run dbt before the ML assets")
    return pd.Timestamp(latest) + pd.Timedelta(days=1)


def first_order_date(con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    return pd.Timestamp(con.execute("select min(order_date) from marts.fct_orders").fetchone()[0])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of ``ml.<table>`` in order; empty when the table does not exist."""
    return [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() and schema_name = ? "
        "and table_name = ? order by column_index", [SCHEMA, table]).fetchall()]


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> int:
    """Replace ``ml.<table>`` with ``frame`` in one transaction; readers see the old or the new rows, never a mix.

    ``column_types`` fixes each column's SQL type so the contract customer_360 reads
    does not drift with pandas' inference (e.g. an all-null column).
    """
    view = f"_ml_frame_{table}"
    with frames_in_transaction(con, {view: frame}):
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create or replace table {SCHEMA}.{table} as "
                    f"select {typed_columns(table, frame, column_types)} from {view}")
    return len(frame)


def typed_columns(table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> str:
    """The select list casting each of ``frame``'s columns to its type in ``column_types``, in that order."""
    missing = set(column_types) - set(frame.columns)
    if missing:
        raise KeyError(f"ml.{table}: frame lacks column(s) {sorted(missing)}; has {list(frame.columns)}")
    return ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in column_types.items())


@contextmanager
def frames_in_transaction(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]):
    """``frames`` registered under their names and one transaction around the block: committed when it
    ends, rolled back when it raises; the frames are unregistered either way."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        con.execute("begin transaction")
        yield
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in frames:
            con.unregister(name)


MODEL_RUNS_DDL = f"""
create table if not exists {SCHEMA}.model_runs (
    model_run_id varchar not null,
    model varchar not null,
    code_version varchar not null,
    data_snapshot varchar not null,
    trained_at timestamp not null,
    params json,
    metrics json,
    baseline_metrics json,
    passed_baseline boolean,
    baseline_verdict varchar,
    dagster_run_id varchar,
    artifact_path varchar,
    reference_date date
)
"""
# Warehouses whose model_runs predate model reuse lack the reference date; their models refit once.
MODEL_RUNS_UPGRADE = f"alter table {SCHEMA}.model_runs add column if not exists reference_date date"
MODEL_RUNS_COLUMNS = ("model_run_id", "model", "code_version", "data_snapshot", "trained_at", "params", "metrics",
                      "baseline_metrics", "passed_baseline", "baseline_verdict", "dagster_run_id", "artifact_path",
                      "reference_date")


def _json(value) -> str:
    return json.dumps(artifacts._jsonable(value), sort_keys=True, ensure_ascii=False, default=str)


def record_model_run(con: duckdb.DuckDBPyConnection, trained: TrainedModel, dagster_run_id: str) -> None:
    """Append one row to ml.model_runs: the history that makes a regression across retrains visible."""
    ensure_model_runs(con)
    con.execute(
        f"insert into {SCHEMA}.model_runs ({', '.join(MODEL_RUNS_COLUMNS)}) "
        f"values ({', '.join('?' for _ in MODEL_RUNS_COLUMNS)})",
        [
            trained.model_run_id, trained.name, trained.code_version, trained.data_snapshot,
            datetime.now(timezone.utc).replace(tzinfo=None), _json(trained.params), _json(trained.metrics),
            _json(trained.baseline_metrics), trained.verdict.passed, trained.verdict.reason, dagster_run_id,
            trained.artifact_path, trained.reference_date,
        ],
    )


def ensure_model_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(MODEL_RUNS_DDL)
    con.execute(MODEL_RUNS_UPGRADE)


def verdict_check_result(trained: TrainedModel, metadata: dict | None = None) -> dg.AssetCheckResult:
    """A failed verdict is an ERROR, which blocks the scoring asset and the publication.

    Too little data to judge (a small demo) passes with ``judged: false`` and says
    so: nothing shows the model is worse than its baseline, and a failed check of
    any severity would hold back the serving snapshot, which gates on every
    failed blocking check.
    """
    judged = trained.verdict.passed is not None
    meta = {"model_run_id": trained.model_run_id, "verdict": trained.verdict.reason, "judged": judged,
            **(metadata or {})}
    if not judged:
        return dg.AssetCheckResult(passed=True, metadata=meta, description="NOT JUDGED: " + trained.verdict.reason)
    return dg.AssetCheckResult(passed=bool(trained.verdict.passed), metadata=meta, description=trained.verdict.reason)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def float_metadata(values: dict, prefix: str = "") -> dict:
    """Numbers as Dagster float/int metadata so the UI can plot them across materializations."""
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            out[prefix + key] = dg.MetadataValue.int(value)
        elif isinstance(value, float) or hasattr(value, "item"):
            out[prefix + key] = dg.MetadataValue.float(float(value))
    return out
