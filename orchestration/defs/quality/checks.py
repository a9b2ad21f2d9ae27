"""One blocking Dagster asset check per expectation suite, on the asset the suite validates.

A failing suite stops every asset downstream of the checked one in the same run.
The connection is opened inside the check body and closed before it returns:
DuckDB allows one writer, and the checks run between the writers' steps.

In a partitioned run (the daily build) a suite's row conditions read only the rows the run wrote
(see ``sql_checks``); the run tag ``quality/every_row=true`` (``settings.EVERY_ROW_TAG``) makes them read every row.
"""

import json
import re

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import EXPECTATIONS_DIR, Settings, every_row_requested

from . import data_docs, history
from .runner import SuiteResult, run_suite
from .suites import Suite, discover_suites

CHECK_NAME = "expectation_suite"


def _metadata(result: SuiteResult, docs: "str | None") -> dict:
    failed = [r.label for r in result.failed]
    metadata = {
        "suite": result.suite,
        "expectations_passed": len(result.results) - len(failed),
        "expectations_failed": len(failed),
        "failed_expectations": dg.MetadataValue.json(failed),
        "observed_values": dg.MetadataValue.json({r.label: r.observed_value for r in result.results}),
        "unexpected_counts": dg.MetadataValue.json(
            {r.label: r.unexpected_count for r in result.results if r.unexpected_count is not None}),
        "row_count": result.row_count,
        "rows_checked": result.rows_checked,
        "rows_checked_scope": result.scope,
        "gx_sample_rows": result.sample_rows,
        "seconds": result.seconds,
    }
    problems = {r.label: r.error or (r.details or {}).get("examples") for r in result.failed
                if r.error or (r.details or {}).get("examples")}
    if problems:
        metadata["failure_details"] = dg.MetadataValue.json(problems)
    if docs:
        metadata["data_docs"] = dg.MetadataValue.path(docs)
    return metadata


def _partition(context: dg.AssetCheckExecutionContext) -> "str | None":
    op_context = context.op_execution_context
    return op_context.partition_key if op_context.has_partition_key else None


def changed_rows_only(context: dg.AssetCheckExecutionContext) -> bool:
    """A partitioned run validates the rows it wrote; every other run, or one tagged every_row, all rows."""
    return _partition(context) is not None and not every_row_requested(context.run.tags)


def check_name(suite: Suite, asset_key_path: list[str]) -> str:
    # On an asset that writes another table too, the name says which table the check validates.
    return CHECK_NAME if asset_key_path == suite.asset_key_path else f"{CHECK_NAME}_{suite.table}"


_TABLE_REFERENCE = re.compile(r"\b(raw|staging|intermediate|marts|ml)\.([a-z_][a-z0-9_]*)\b")


def referenced_assets(suite: Suite, writers: dict[str, list[list[str]]], parents: dict[dg.AssetKey, set[dg.AssetKey]],
                      checked: dg.AssetKey) -> list[dg.AssetKey]:
    """The assets writing the other tables a suite's SQL reads (referential checks, reconciliations).

    The check must run after them: without the dependency Dagster may run it before a table it
    compares with exists in this run (a fresh warehouse), or against that table's previous build.
    Left out: tables downstream of the checked asset (they wait for this check themselves), and
    model outputs that are not upstream of it: the model assets write several tables each (and all
    of them ml.model_runs), so ordering checks across models would tie the model steps in a knot.
    """
    tables = {f"{schema}.{table}" for schema, table in _TABLE_REFERENCE.findall(json.dumps(suite.expectations))}
    keys = {dg.AssetKey(path) for table in sorted(tables - {suite.name})
            for path in writers.get(table, [table.split(".")])}
    upstream = _ancestors(parents, checked)

    def wanted(key: dg.AssetKey) -> bool:
        if key not in parents or key == checked:
            return False
        if key in upstream:
            return True
        return key.path[0] != "ml" and checked not in _ancestors(parents, key)

    return sorted(filter(wanted, keys), key=lambda k: k.to_user_string())


def _ancestors(parents: dict[dg.AssetKey, set[dg.AssetKey]], key: dg.AssetKey) -> set[dg.AssetKey]:
    seen, stack = set(), [key]
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def build_suite_check(suite: Suite, asset_key_path: "list[str] | None" = None,
                      additional_deps: "list[dg.AssetKey] | None" = None) -> dg.AssetChecksDefinition:
    asset_key_path = asset_key_path or suite.asset_key_paths[0]

    @dg.asset_check(
        asset=dg.AssetKey(asset_key_path),
        name=check_name(suite, asset_key_path),
        additional_deps=[k for k in additional_deps or [] if k != dg.AssetKey(asset_key_path)],
        blocking=True,
        description=f"Expectation suite `{suite.path.name}` ({len(suite.expectations)} expectations); "
                    "blocks everything downstream when an expectation fails.",
        pool="duckdb_writer",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
        run_id = context.op_execution_context.run_id
        with warehouse.get_connection() as con:
            result = run_suite(con, suite, changed_rows_only=changed_rows_only(context))
            history.append(con, result, "/".join(asset_key_path), run_id, _partition(context))
        docs = None
        try:
            docs = str(data_docs.publish(Settings.from_env().data_dir, result, run_id))
        except Exception as err:  # the docs are a report; a rendering bug must not hide the verdict
            context.log.warning(f"Data Docs not updated for {suite.name}: {err}")
        for r in result.failed:
            context.log.error(f"{suite.name}: {r.label} failed, observed {r.observed_value!r}"
                              + (f" ({r.error})" if r.error else ""))
        return dg.AssetCheckResult(passed=result.success, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=_metadata(result, docs))

    return _check


def _warehouse_lineage() -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """Asset -> its direct upstream assets, for every asset that writes a warehouse table."""
    from orchestration.defs.dbt.assets import DBT_ASSETS
    from orchestration.defs.ingest.assets import ingest_assets
    from orchestration.defs.ml import ml_assets
    from orchestration.defs.privacy.assets import privacy_assets

    return {spec.key: {dep.asset_key for dep in spec.deps}
            for a in (*ingest_assets, *privacy_assets, *DBT_ASSETS, *ml_assets) for spec in a.specs}


def build_quality_checks(directory=EXPECTATIONS_DIR) -> list[dg.AssetChecksDefinition]:
    suites = discover_suites(directory)
    writers = {s.name: s.asset_key_paths for s in suites}
    parents = _warehouse_lineage()
    return [build_suite_check(s, key, referenced_assets(s, writers, parents, dg.AssetKey(key)))
            for s in suites for key in s.asset_key_paths]


quality_checks = build_quality_checks()
