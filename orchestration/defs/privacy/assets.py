"""Privacy assets: retention and erasure of raw data, the pseudonym map, and access exports.

Retention and erasure sit between ingest and dbt, and the pseudonym map (which every staging
model joins) waits for both: a person erased in this run is gone from raw, quarantine, the
snapshot and the marts before any model reads them. Access exports come last, after the
published snapshot, so they include what the marts and models hold.
"""

from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from landing.contract import SOURCES
from orchestration.defs.ml.common import models_dir
from orchestration.defs.serving.assets import SNAPSHOT_KEY
from orchestration.secret_keys import pseudonym_key
from orchestration.settings import Settings

from . import audit
from .access import answer_access_requests
from .erasure import apply_erasures
from .pseudonyms import ID_SOURCES, MAP_TABLE, refresh_pseudonyms
from .retention import LOG_TABLE, RETAINED_EVENT_SOURCES, apply_retention

PRIVACY_GROUP = "privacy"
PSEUDONYMS_KEY = dg.AssetKey(["staging", "customer_pseudonyms"])
ERASURES_KEY = dg.AssetKey(["privacy", "erasures"])
RETENTION_KEY = dg.AssetKey(["privacy", "raw_event_retention"])
ACCESS_EXPORTS_KEY = dg.AssetKey(["privacy", "access_exports"])
ACCESS_SUBDIR = "access"
OWNERS = ["team:data-engineering"]


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


class PseudonymConfig(dg.Config):
    # Re-key every customer with a new WAREHOUSE_PSEUDONYM_KEY (run with --full-refresh, so
    # incremental tables do not keep old keys). Without it a changed key stops the run.
    rotate_key: bool = False


@dg.asset(
    key=RETENTION_KEY,
    deps=[raw_key(s) for s in RETAINED_EVENT_SOURCES],
    group_name=PRIVACY_GROUP,
    kinds={"duckdb", "python"},
    owners=OWNERS,
    pool="duckdb_writer",
    description=(
        "Deletes raw clickstream and campaign events (and their quarantined rows) older than "
        "`RAW_EVENT_RETENTION_DAYS` (default 730) on every build, so the daily schedule applies the retention "
        "period; deleted counts per table go to `quality.retention_log` and the run's metadata. Orders, tickets "
        "and surveys are business records with their own retention and are kept."
    ),
    metadata={"dagster/table_name": LOG_TABLE},
)
def raw_event_retention(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    today = datetime.now(timezone.utc).date()
    with warehouse.get_connection() as con:
        results = apply_retention(con, settings.raw_event_retention_days, today, context.run.run_id)
    deleted = {r.table: r.rows_deleted for r in results}
    context.log.info(f"retention {settings.raw_event_retention_days} days (before {today}): deleted {deleted}")
    return dg.MaterializeResult(metadata={
        "retention_days": settings.raw_event_retention_days,
        "cutoff_date": str(results[0].cutoff) if results else "",
        "rows_deleted": sum(deleted.values()),
        "rows_deleted_by_table": dg.MetadataValue.json(deleted),
    })


@dg.asset(
    key=ERASURES_KEY,
    deps=[raw_key(s) for s in SOURCES],
    group_name=PRIVACY_GROUP,
    kinds={"duckdb", "python"},
    owners=OWNERS,
    pool="duckdb_writer",
    description=(
        "Applies every new erasure request in `raw.privacy_requests`: deletes the person from raw, quarantine, the "
        "CRM snapshot, every staging, intermediate, marts and ml table and the pseudonym map, adds their "
        "identifiers (as keyed hashes) to `quality.privacy_suppression` so re-delivered files cannot bring them "
        "back, removes model artifacts and their earlier access exports, and logs each step in "
        "`quality.privacy_audit`. The serving file, report and exports are rebuilt without them later in the same run."
    ),
    metadata={"dagster/table_name": audit.TABLE},
)
def erasures(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    key = pseudonym_key(settings.data_dir)
    with warehouse.get_connection() as con:
        results = apply_erasures(con, key, context.run.run_id, models_dir(), settings.privacy_dir / ACCESS_SUBDIR)
        completed = con.execute(f"select count(distinct request_id) from {audit.TABLE} "
                                "where request_type = 'erasure' and action = 'completed'").fetchone()[0]
    for r in results:
        # request ids only: the audit log, not the run log, says what was deleted where
        found = "" if r.found else " (no data found)"
        context.log.info(f"erasure {r.request_id}: {r.rows_deleted} rows deleted{found}")
    return dg.MaterializeResult(metadata={
        "requests_applied": len(results),
        "rows_deleted": sum(r.rows_deleted for r in results),
        "requests_completed_all_time": completed,
        "request_ids": dg.MetadataValue.json([r.request_id for r in results]),
    })


@dg.asset(
    key=ACCESS_EXPORTS_KEY,
    deps=[SNAPSHOT_KEY],
    group_name=PRIVACY_GROUP,
    kinds={"duckdb", "json"},
    owners=["team:privacy-office"],
    pool="duckdb_writer",
    description=(
        "Answers every new access request in `raw.privacy_requests` with one JSON file of everything held about the "
        "person (raw rows of every source, quarantined rows, the restricted CRM profile, every marts/ml row under "
        "their customer_key) at `$PRIVACY_DIR/access/<request_id>.json` (mode 0600), and logs it in "
        "`quality.privacy_audit`. Runs after the snapshot, so the file matches what was just published."
    ),
)
def access_exports(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    key = pseudonym_key(settings.data_dir)
    out_dir = settings.privacy_dir / ACCESS_SUBDIR
    with warehouse.get_connection() as con:
        results = answer_access_requests(con, key, out_dir, context.run.run_id)
    for r in results:
        context.log.info(f"access {r.request_id}: {r.rows} rows written" + ("" if r.found else " (no data found)"))
    return dg.MaterializeResult(metadata={
        "requests_answered": len(results),
        "rows_exported": sum(r.rows for r in results),
        "access_dir": dg.MetadataValue.path(str(out_dir)),
        "request_ids": dg.MetadataValue.json([r.request_id for r in results]),
    })


@dg.asset(
    key=PSEUDONYMS_KEY,
    deps=[ERASURES_KEY, RETENTION_KEY, *(raw_key(s) for s in ID_SOURCES)],
    group_name=PRIVACY_GROUP,
    kinds={"duckdb", "python"},
    owners=OWNERS,
    pool="duckdb_writer",
    description=(
        "Restricted map from CRM customer id to the pseudonymous `customer_key` (HMAC-SHA256 under the secret "
        "`WAREHOUSE_PSEUDONYM_KEY`, first 32 hex digits). Every staging model joins it and passes on only the key, "
        "so marts, model outputs, the serving file, the report and the exports never carry the CRM id. Erased "
        "customers never get a key again."
    ),
    metadata={"dagster/table_name": MAP_TABLE},
)
def customer_pseudonyms(context: dg.AssetExecutionContext, config: PseudonymConfig,
                        warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    key = pseudonym_key(settings.data_dir)
    with warehouse.get_connection() as con:
        refresh = refresh_pseudonyms(con, key, rotate=config.rotate_key)
    if refresh.rotated:
        context.log.warning("pseudonym key rotated: every customer_key changed")
    context.log.info(f"{refresh.new_keys} new customer key(s); {refresh.total_keys} in all (key from {key.source})")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": refresh.total_keys,
        "new_keys": refresh.new_keys,
        # a fingerprint says which key was used without revealing it
        "key_fingerprint": refresh.key_fingerprint,
        "key_source": key.source,
        "rotated": refresh.rotated,
    })


privacy_assets = [raw_event_retention, erasures, customer_pseudonyms, access_exports]
