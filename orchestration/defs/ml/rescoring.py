"""Which rows of a scoring table a run must rewrite: every row, or only those whose inputs changed.

A daily build scores with the model it handed on from the last training (``reuse``).
For the scores that depend only on a row's own inputs and the model, such as a
customer's recommendations (the products they own) or a text's sentiment (the text),
the rows whose inputs did not change would come out exactly as they are. So each
such row carries ``input_fingerprint``, a hash of what it was scored from, computed by
the warehouse. A run compares today's fingerprints with the stored ones and rescores
only keys that are new or changed, and deletes the rows of keys that are gone.

Everything is rescored when the table was scored by another model run, predates
fingerprints, is missing, or the run asks for it (``rescore_all``). The fingerprint is
DuckDB's 64-bit ``hash``: a DuckDB upgrade that changed it would make every row look
changed, which costs one full rescoring and is never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from . import common, inputs

FINGERPRINT = "input_fingerprint"
# The column the dbt incremental models stamp their writes with, and the suites look for.
WRITE_STAMP = "_built_at"


@dataclass(frozen=True)
class RescorePlan:
    everything: bool
    reason: str
    # key + input_fingerprint of every key to score in this run: all of them, or the new and changed ones
    to_score: pd.DataFrame
    # keys whose stored rows go without replacement (no longer in the input); empty when everything
    removed: pd.DataFrame

    def metadata(self, key_noun: str) -> dict:
        return {"rescored": "all" if self.everything else "changed inputs only", "rescore_reason": self.reason,
                f"{key_noun}_scored": len(self.to_score), f"{key_noun}_removed": len(self.removed)}


def reason_to_rescore_all(con: duckdb.DuckDBPyConnection, table: str, model_run_id: str) -> str | None:
    """Why every row of ``ml.<table>`` must be scored again by ``model_run_id``, or None when only changes need it."""
    columns = common.table_columns(con, table)
    if not columns:
        return f"ml.{table} does not exist yet"
    if FINGERPRINT not in columns:
        return f"ml.{table} was scored before rows carried {FINGERPRINT}"
    used = [r[0] for r in con.execute(f"select distinct model_run_id from {common.SCHEMA}.{table}").fetchall()]
    if used != [model_run_id]:
        shown = ", ".join(str(u) for u in used[:3]) or "no rows"
        return f"ml.{table} was scored by {shown}; the model now is {model_run_id}"
    return None


def plan(con: duckdb.DuckDBPyConnection, table: str, key: str, fingerprints_sql: str, model_run_id: str,
         *, rescore_all: str | None = None) -> RescorePlan:
    """Compare ``fingerprints_sql`` (one row per current key: ``key``, ``input_fingerprint``) with ``ml.<table>``.

    ``rescore_all`` is the caller's own reason to rewrite everything (a config change the
    table cannot show), checked before the table's.
    """
    reason = rescore_all or reason_to_rescore_all(con, table, model_run_id)
    current = f"(select {key}, {FINGERPRINT} from ({fingerprints_sql}))"
    if reason is not None:
        everyone = inputs.query_df(con, f"select * from {current} order by 1")
        return RescorePlan(True, reason, everyone, pd.DataFrame({key: pd.Series(dtype=object)}))
    stored = f"(select distinct {key}, {FINGERPRINT} from {common.SCHEMA}.{table})"
    # One query, so today's fingerprints are computed once for both comparisons: for the recommendations
    # they are an aggregate over every order line (at L 7.8 s of the daily run's 14 s step when it ran twice).
    both = inputs.query_df(con, f"""
        with today as materialized ({current})
        select *, false as gone from (select * from today except select * from {stored})
        union all
        -- the stored fingerprint rides along only to keep the column's integer type (a null would make it float)
        select *, true from {stored} as s where not exists (select 1 from today where today.{key} = s.{key})
        order by 1""")
    changed = both[~both["gone"]].drop(columns="gone").reset_index(drop=True)
    removed = both.loc[both["gone"], [key]].reset_index(drop=True)
    return RescorePlan(False, f"same model ({model_run_id}); {len(changed):,} new or changed, {len(removed):,} gone",
                       changed, removed)


def write(con: duckdb.DuckDBPyConnection, table: str, key: str, rescore: RescorePlan, frame: pd.DataFrame,
          column_types: dict[str, str]) -> int:
    """Store the rows of ``frame`` (the keys of ``rescore.to_score``, with their fingerprint) in ``ml.<table>``.

    Everything: the table is replaced. Otherwise the rows of the rescored and removed keys are
    deleted and the new ones inserted, in one transaction. Returns the table's row count.

    Every row written is stamped with the write's time (``WRITE_STAMP``), so the table's suite in a
    partitioned run validates the rows this run rescored, as it does an incremental model's newest
    build (``quality.sql_checks.newest_write_filter``). A table from before the stamp gets the column
    (empty for its old rows) instead of a full rescoring.
    """
    frame = frame.assign(**{WRITE_STAMP: common.now_utc()})
    column_types = {**column_types, WRITE_STAMP: "timestamp"}
    if rescore.everything:
        return common.write_table(con, table, frame, column_types)
    select = common.typed_columns(table, frame, column_types)
    gone = pd.concat([rescore.to_score[[key]], rescore.removed[[key]]], ignore_index=True)
    columns = ", ".join(f'"{c}"' for c in column_types)
    keys_view, rows_view = f"_rescore_keys_{table}", f"_rescore_rows_{table}"
    with common.frames_in_transaction(con, {keys_view: gone, rows_view: frame}):
        if WRITE_STAMP not in common.table_columns(con, table):
            con.execute(f"alter table {common.SCHEMA}.{table} add column {WRITE_STAMP} timestamp")
        con.execute(f"delete from {common.SCHEMA}.{table} where {key} in (select {key} from {keys_view})")
        con.execute(f"insert into {common.SCHEMA}.{table} ({columns}) select {select} from {rows_view}")
    return con.execute(f"select count(*) from {common.SCHEMA}.{table}").fetchone()[0]
