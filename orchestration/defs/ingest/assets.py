"""One Dagster asset per landing source: ``raw.<source>`` loaded from the landing zone.

The event-like sources are partitioned by delivery date (``partitions.py`` says which and why): a
run loads the folders of its partition, or of its range in a single-run backfill. The others load
every new file in every run.
"""


import dagster as dg
from dagster_duckdb import DuckDBResource

from landing.contract import LOAD_COLUMNS, SOURCES, Source
from orchestration.defs.privacy import audit
from orchestration.defs.privacy.suppression import suppressed_row_filter
from orchestration.secret_keys import pseudonym_key
from orchestration.settings import Settings

from .loader import load_source
from .partitions import PARTITIONED_SOURCES, PARTITIONED_TAG, SINGLE_RUN, Window, delivery_date_partitions

INGEST_GROUP = "ingest"


def _column_schema(source: Source) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, c.sql_type.lower(), description=c.meaning,
                           constraints=dg.TableColumnConstraints(nullable=not c.required))
            for c in (*source.columns, *LOAD_COLUMNS)
        ]
    )


def _rejected_table(rejected) -> str:
    if not rejected:
        return "No file rejected in this run (history: `quality.rejected_files`)."
    rows = [f"| `{r.source_file}` | {r.kind} | {r.problem} | {r.fix} | `{r.moved_to}` |" for r in rejected]
    return "\n".join(["| file | kind | problem | what to do | moved to |", "|---|---|---|---|---|", *rows])


def _rows_in_window(con, source: Source, window: Window) -> int:
    return con.execute(
        f"select count(*) from raw.{source.name} where split_part(_source_file, '/', 2) between ? and ?",
        [window.first, window.last]).fetchone()[0]


# Loaded after another source in the same run. Order lines after orders: an erased customer's new
# order is suppressed by customer id, which puts its order id on the list that drops its lines
# (privacy.suppression.suppress_orders_of_suppressed_customers).
LOADS_AFTER = {"order_items": "orders"}


def build_ingest_asset(source: Source) -> dg.AssetsDefinition:
    partitioned = source.name in PARTITIONED_SOURCES
    scope = ("the delivery folders of the run's partition (a day), or of its range in a backfill"
             if partitioned else "every delivery folder (not partitioned: read whole downstream)")

    spec = dg.AssetSpec(
        key=["raw", source.name],
        deps=[dg.AssetKey(["raw", LOADS_AFTER[source.name]])] if source.name in LOADS_AFTER else [],
        group_name=INGEST_GROUP,
        kinds={"duckdb", "python"},
        owners=["team:data-engineering"],
        description=(
            f"{source.description} Loaded from `landing/{source.name}/<delivery date>/*` into `raw.{source.name}`; "
            f"rows that break the landing contract go to `quality.quarantine_{source.name}` with the reason. "
            f"Looks into {scope}; re-running loads only new or changed files."
        ),
        metadata={"dagster/column_schema": _column_schema(source), "dagster/table_name": f"raw.{source.name}"},
        tags=PARTITIONED_TAG if partitioned else None,
    )

    # A multi-asset of one spec rather than @asset: there `backfill_policy` is a stable parameter
    # (on @asset it is still flagged beta in Dagster 1.13 and warns on every load).
    @dg.multi_asset(
        name=f"raw__{source.name}",
        specs=[spec],
        pool="duckdb_writer",
        partitions_def=delivery_date_partitions if partitioned else None,
        backfill_policy=SINGLE_RUN if partitioned else None,
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
        settings = Settings.from_env()
        window = Window.of(context) if partitioned else None
        if window:
            context.log.info(f"{source.name}: loading delivery folders {window.first} to {window.last}")

        def progress(name, done, total):
            context.log.info(f"{name}: {done}/{total} files loaded")

        key = pseudonym_key(settings.data_dir)

        def suppress(con, source_name, relation):
            return suppressed_row_filter(con, key, source_name, relation)

        with warehouse.get_connection() as con:
            if source.name == "privacy_requests":
                # The suite on raw.privacy_requests reads the audit log (a request whose e-mail an erasure
                # removed names no one any more), so the log exists from the first load on.
                audit.ensure_table(con)
            result = load_source(con, source.name, settings.landing_dir, batch_id=f"{context.run.run_id[:8]}-{source.name}",
                                 progress=progress, rejected_dir=settings.quarantine_files_dir, delivery_dates=window,
                                 suppress=suppress)
            row_count = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
            window_rows = _rows_in_window(con, source, window) if window else None
        duplicates = [f.source_file for f in result.files if f.status == "duplicate_delivery"]
        for r in result.rejected:
            if r.kind != "duplicate":
                context.log.warning(f"rejected {r.source_file}: {r.problem}. Fix: {r.fix}. Moved to {r.moved_to}")
        if duplicates:
            context.log.warning(f"{len(duplicates)} file(s) delivered twice and not loaded again: {duplicates[:5]}")
        context.log.info(
            f"{source.name}: {len(result.files)} new file(s), {result.rows_landed} rows landed = "
            f"{result.rows_loaded} loaded + {result.rows_quarantined} quarantined"
            + (f" + {result.rows_suppressed} suppressed (erased people)" if result.rows_suppressed else "")
        )
        # A single-run backfill records this once per partition of its range, so it stays small.
        partition_metadata = {} if window is None else {
            "dagster/row_count": window_rows,  # rows delivered in this run's folders (one day, or the range)
            "table_row_count": row_count,
            "delivery_dates": window.first if window.first == window.last else f"{window.first} to {window.last}",
        }
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": row_count,
                **partition_metadata,
                "batch_id": result.batch_id,
                "files_new": len(result.files),
                "files_unchanged_skipped": result.skipped_unchanged,
                "files_duplicate_delivery": len(duplicates),
                "rows_landed": result.rows_landed,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
                "rows_suppressed": result.rows_suppressed,
                "quarantine_reasons": dg.MetadataValue.json(result.quarantine_reasons),
                "files_rejected": len(result.rejected),
                "rejected_files": dg.MetadataValue.md(_rejected_table(result.rejected)),
            }
        )

    return _ingest


ingest_assets = [build_ingest_asset(source) for source in SOURCES.values()]
