"""Run one expectation suite against one DuckDB table and return a structured result.

No Dagster here: the asset checks, the CLI and the tests all call ``run_suite``.

Two engines, chosen per expectation type (see ``expectations/README.md``):
- whole-table properties (keys, nulls, value sets, ranges, row counts, freshness,
  referential integrity, drift) run exactly as aggregate SQL inside DuckDB;
- everything else (formats and regexes) runs in Great Expectations on a
  deterministic sample of at most ``sample_rows`` rows.

With ``changed_rows_only`` (a partitioned run) row conditions read only the rows the table's newest
load or build wrote; see ``sql_checks``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from . import sample_checks, sql_checks
from .suites import Suite


@dataclass
class ExpectationResult:
    expectation_type: str
    kwargs: dict
    success: bool
    observed_value: Any
    unexpected_count: int | None
    element_count: int | None
    engine: str  # "sql" (exact, whole table) or "gx-sample"
    description: str | None = None
    details: dict | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        target = self.kwargs.get("column") or ",".join(self.kwargs.get("column_list", [])) or ""
        return f"{self.expectation_type}({target})" if target else self.expectation_type


@dataclass
class SuiteResult:
    suite: str
    table: str
    success: bool
    row_count: int
    sample_rows: int
    seconds: float
    results: list[ExpectationResult] = field(default_factory=list)
    scope: str = "every row"  # which rows the row conditions read
    rows_checked: int | None = None

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def to_dict(self) -> dict:
        return asdict(self)


def jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars from GX
        return value.item()
    return value


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, sample_rows: int | None = None,
              changed_rows_only: bool = False) -> SuiteResult:
    started = time.perf_counter()
    table = sql_checks.TableContext(con, suite.schema, suite.table, changed_rows_only)
    sample_rows = int(sample_rows or suite.meta.get("sample_rows") or sample_checks.DEFAULT_SAMPLE_ROWS)
    results: list[ExpectationResult | None] = [None] * len(suite.expectations)

    sampled: list[tuple[int, dict]] = []
    for i, exp in enumerate(suite.expectations):
        description = exp.get("meta", {}).get("why")
        if exp["type"] not in sql_checks.SQL_EXPECTATIONS:
            sampled.append((i, exp))
            continue
        try:
            out = sql_checks.evaluate(table, exp["type"], exp["kwargs"])
            results[i] = ExpectationResult(exp["type"], exp["kwargs"], out.success, jsonable(out.observed_value),
                                           out.unexpected_count, out.element_count, "sql", description,
                                           jsonable(out.details))
        except (duckdb.Error, KeyError, LookupError) as err:
            # A broken expectation fails loudly instead of passing silently.
            results[i] = ExpectationResult(exp["type"], exp["kwargs"], False, None, None, None, "sql", description,
                                           error=f"{type(err).__name__}: {err}")

    if sampled:
        frame = sample_checks.draw_sample(table, sample_checks._columns_used([e for _, e in sampled]), sample_rows)
        gx_results = sample_checks.validate_sample(frame, [e for _, e in sampled], suite.name)
        for (i, exp), gx_result in zip(sampled, gx_results):
            res = gx_result.result or {}
            error = None
            if gx_result.exception_info and gx_result.exception_info.get("raised_exception"):
                error = gx_result.exception_info.get("exception_message")
            results[i] = ExpectationResult(
                exp["type"], exp["kwargs"], bool(gx_result.success),
                # Row-level GX results carry no observed value; the unexpected share is the useful number.
                jsonable(res.get("observed_value", res.get("unexpected_percent"))),
                res.get("unexpected_count"), res.get("element_count"), "gx-sample",
                exp.get("meta", {}).get("why"),
                jsonable({"sample_rows": len(frame), "table_rows": table.row_count, "rows_sampled_from": table.scope,
                          "partial_unexpected_list": res.get("partial_unexpected_list", [])}),
                error,
            )

    final = [r for r in results if r is not None]
    return SuiteResult(suite.name, table.relation, all(r.success for r in final), table.row_count,
                       min(sample_rows, table.rows_checked), round(time.perf_counter() - started, 3), final,
                       table.scope, table.rows_checked)
