"""One Dagster asset per landing source: ``raw.<source>`` loaded from the landing zone."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from landing.contract import LOAD_COLUMNS, SOURCES, Source
from orchestration.defs.privacy.suppression import suppressed_row_filter
from orchestration.secret_keys import pseudonym_key
from orchestration.settings import Settings

from .loader import load_source

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


def build_ingest_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", source.name],
        group_name=INGEST_GROUP,
        kinds={"duckdb", "python"},
        owners=["team:data-engineering"],
        description=(
            f"{source.description} Loaded from `landing/{source.name}/<delivery date>/*` into `raw.{source.name}`; "
            f"rows that break the landing contract go to `quality.quarantine_{source.name}` with the reason. "
            "Re-running loads only new or changed files."
        ),
        metadata={"dagster/column_schema": _column_schema(source), "dagster/table_name": f"raw.{source.name}"},
        pool="duckdb_writer",
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
        settings = Settings.from_env()

        def progress(name, done, total):
            context.log.info(f"{name}: {done}/{total} files loaded")

        key = pseudonym_key(settings.data_dir)

        def suppress(con, source_name, relation):
            return suppressed_row_filter(con, key, source_name, relation)

        with warehouse.get_connection() as con:
            result = load_source(con, source.name, settings.landing_dir, batch_id=f"{context.run.run_id[:8]}-{source.name}",
                                 progress=progress, rejected_dir=settings.quarantine_files_dir, suppress=suppress)
            row_count = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
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
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": row_count,
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
