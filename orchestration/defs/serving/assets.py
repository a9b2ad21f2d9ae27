"""``serving/warehouse_snapshot``: the published copy of the marts and model outputs for BI tools."""

from collections.abc import Iterable
from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.secret_keys import encryption_key
from orchestration.settings import Settings

from .publish import PUBLISHED_SCHEMAS, STORAGE_VERSION, publish

SERVING_GROUP = "serving"
SNAPSHOT_KEY = dg.AssetKey(["serving", "warehouse_snapshot"])


def published_asset_keys(assets: Iterable[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """Every asset in the groups that are published, read off the definitions rather than listed by hand,
    so a new mart or model output is a dependency of the snapshot the day it is added."""
    keys = {spec.key for a in assets for spec in a.specs if spec.group_name in PUBLISHED_SCHEMAS}
    return sorted(keys, key=lambda k: k.to_user_string())


def blocking_check_keys(definitions: Iterable[dg.AssetsDefinition], upstream: list[dg.AssetKey]):
    """Blocking checks (dbt tests with severity error, expectation suites) on the published assets."""
    wanted = set(upstream)
    return sorted({spec.key for d in definitions for spec in d.check_specs
                   if spec.asset_key in wanted and spec.blocking}, key=lambda k: k.to_user_string())


def _failed_checks(instance: dg.DagsterInstance, check_keys) -> list[str]:
    """Checks whose latest evaluation failed.

    Inside a full run a failed blocking check already skips this step; this catches the snapshot
    being materialized on its own after a run whose gates failed.
    """
    if not check_keys:
        return []
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    return sorted(k.to_user_string() for k, record in latest.items() if record.status.value == "FAILED")


def _erasures_since_last_publication(instance: dg.DagsterInstance, con) -> int:
    """Erasures completed after the previous publication: their people may be in older Parquet versions."""
    exists = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                         "and schema_name = 'quality' and table_name = 'privacy_audit'").fetchone()[0]
    if not exists:
        return 0
    last = instance.get_latest_materialization_event(SNAPSHOT_KEY)
    since = datetime.fromtimestamp(last.timestamp, timezone.utc).replace(tzinfo=None) if last else datetime.min
    return con.execute("select count(*) from quality.privacy_audit where request_type = 'erasure' "
                       "and action = 'completed' and processed_at > ?", [since]).fetchone()[0]


def build_serving_asset(definitions: Iterable[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every asset in ``definitions`` that is in a published group.

    Pass the asset checks defined apart from their assets too: their blocking ones gate the publication.
    """
    definitions = list(definitions)
    upstream = published_asset_keys(definitions)
    gates = blocking_check_keys(definitions, upstream)

    @dg.asset(
        key=SNAPSHOT_KEY,
        deps=upstream,
        group_name=SERVING_GROUP,
        kinds={"duckdb", "parquet"},
        owners=["team:data-engineering"],
        pool="duckdb_writer",
        description=(
            "What BI tools read: the `marts` and `ml` schemas copied out of the build warehouse into "
            "`$SERVING_DIR/warehouse.duckdb` (DuckDB storage format "
            f"{STORAGE_VERSION}, so DuckDB 1.x drivers open it) and one Parquet file per table under "
            "`$SERVING_DIR/parquet/<schema>/<table>.parquet`. Written aside and renamed into place, so readers "
            "see the previous publication or this one, never a half-built file, and never hold the pipeline's "
            "lock. Raw, staging and quality data (personal data, dirt) are never published. Connect read-only."
        ),
        metadata={"published_schemas": ", ".join(PUBLISHED_SCHEMAS), "storage_version": STORAGE_VERSION,
                  "blocking_checks_gating_publication": len(gates)},
    )
    def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
        failed = _failed_checks(context.instance, gates)
        if failed:
            raise dg.Failure(
                description=f"Not publishing: blocking check(s) failed on their latest run: {', '.join(failed)}. "
                            "Fix the data or the check, re-run the job, and the snapshot publishes again.",
            )
        settings = Settings.from_env()
        with warehouse.get_connection() as con:
            erased = _erasures_since_last_publication(context.instance, con)
            result = publish(con, settings.serving_dir, run_id=context.run.run_id, keep_previous=not erased,
                             encryption_key=encryption_key())
        if erased:
            context.log.info(f"{erased} erasure(s) since the last publication: older Parquet versions deleted")
        context.log.info(f"Published {len(result.tables)} tables to {result.database} in {result.seconds:.1f}s "
                         f"({result.database_bytes:,} bytes; Parquet {result.parquet_bytes:,} bytes)")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(result.tables.values()),
                "dagster/uri": str(result.database),
                "path": dg.MetadataValue.path(str(result.database)),
                "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
                "storage_version": result.storage_version,
                "encrypted": bool(encryption_key()),
                "tables": len(result.tables),
                "rows_by_table": dg.MetadataValue.json(result.tables),
                "database_bytes": result.database_bytes,
                "parquet_bytes": result.parquet_bytes,
                "publish_seconds": round(result.seconds, 2),
                "erasures_since_last_publication": erased,
                # every text value was checked against e-mail/phone patterns and this many known identifiers
                "pii_scan_seconds": round(result.pii_scan_seconds, 2),
                "pii_known_identifiers_checked": result.known_identifiers_checked,
            }
        )

    return warehouse_snapshot
