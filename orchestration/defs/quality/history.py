"""Validation history: one row per expectation per check run in ``quality.validation_results``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from .runner import SuiteResult

DDL = """
create table if not exists quality.validation_results (
    suite varchar not null,
    asset varchar not null,
    partition varchar,
    expectation varchar not null,       -- type(column), readable
    expectation_type varchar not null,
    kwargs json not null,
    engine varchar not null,            -- sql (exact) | gx-sample
    success boolean not null,
    observed_value json,
    unexpected_count bigint,
    element_count bigint,
    error varchar,
    run_id varchar not null,
    validated_at timestamp not null
)
"""


def append(con: duckdb.DuckDBPyConnection, result: SuiteResult, asset: str, run_id: str,
           partition: str | None = None) -> int:
    con.execute("create schema if not exists quality")
    con.execute(DDL)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        (result.suite, asset, partition, r.label, r.expectation_type, json.dumps(r.kwargs, ensure_ascii=False),
         r.engine, r.success, json.dumps(r.observed_value, ensure_ascii=False, default=str), r.unexpected_count,
         r.element_count, r.error, run_id, now)
        for r in result.results
    ]
    if rows:
        con.executemany(f"insert into quality.validation_results values ({', '.join('?' * 14)})", rows)
    return len(rows)
