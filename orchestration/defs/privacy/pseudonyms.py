"""The pseudonym map: CRM customer id -> ``customer_key``, a keyed hash, in the restricted area.

Every staging model joins this map and passes on ``customer_key`` only, so marts, model
outputs, the serving file, the report and the exports never carry the CRM id. The key is
HMAC-SHA256 of the id under ``WAREHOUSE_PSEUDONYM_KEY`` (first 32 hex digits, 128 bits),
computed in DuckDB with the key bound as parameters (``secret_keys.hmac_sql``): stable across
runs for the same key, and not reversible or recomputable without it.

No Dagster here, so it can be called and tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb

from landing.contract import SOURCES
from orchestration.secret_keys import PseudonymKey, hmac_sql

from . import suppression

MAP_TABLE = "staging.customer_pseudonyms"
KEY_STATE_TABLE = "staging.customer_pseudonym_key"
# How far each raw table has been read: ids only arrive with new loads, so a refresh reads the rows
# loaded since (the clickstream's whole history cost 4 s a day at 1M customers for a few new ids).
READ_STATE_TABLE = "staging.customer_pseudonym_reads"
# Re-read this much before the newest load seen, so a load stamped by a clock running behind is not skipped.
LOAD_TIME_SLACK = timedelta(days=1)
KEY_CHARS = 32
# Ids are read from every raw table that has one, except the privacy desk's own log: a request
# to erase a customer must not give the erased customer a key again.
ID_SOURCES = tuple(s.name for s in SOURCES.values() if "customer_id" in s.column_names and s.name != "privacy_requests")


class PseudonymKeyChangedError(RuntimeError):
    pass


@dataclass
class PseudonymRefresh:
    new_keys: int
    total_keys: int
    key_fingerprint: str
    rotated: bool = False


def customer_key_sql(id_sql: str) -> str:
    """SQL for the customer_key of a (cleaned) customer id expression; needs ``key.sql_params()``."""
    message = "'customer_key:' || " + id_sql
    return f"left({hmac_sql(message)}, {KEY_CHARS})"


def customer_key(key: PseudonymKey, customer_id: str) -> str:
    """The same key computed in Python (tests, access requests)."""
    return key.hex("customer_key:" + customer_id)[:KEY_CHARS]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists staging")
    con.execute(f"""create table if not exists {MAP_TABLE} (
        customer_id varchar not null,
        customer_key varchar not null,
        first_seen_at timestamp not null
    )""")
    con.execute(f"create table if not exists {KEY_STATE_TABLE} (key_fingerprint varchar not null, recorded_at timestamp not null)")
    con.execute(f"create table if not exists {READ_STATE_TABLE} (source varchar not null, loaded_through timestamp not null)")


def _raw_ids_sql(read_from: dict) -> tuple[str, dict]:
    """The distinct ids of every source's rows loaded at or after ``read_from[source]`` (every row when absent),
    and the named parameters it binds."""
    parts, params = [], {}
    for name in ID_SOURCES:
        # the same cleaning as the staging models' clean_string(): trimmed, '' is no id
        part = f"select nullif(trim(customer_id), '') as customer_id from raw.{name}"
        if name in read_from:
            part += f" where _loaded_at >= $read_from_{name}"
            params[f"read_from_{name}"] = read_from[name]
        parts.append(part)
    return " union ".join(parts), params


def _read_from(con, rotated: bool) -> dict:
    """Per source, the load time to read from: the newest load seen at the last refresh, less the slack."""
    if rotated or con.execute(f"select count(*) = 0 from {MAP_TABLE}").fetchone()[0]:
        return {}  # every id needs a key again
    rows = con.execute(f"select source, loaded_through from {READ_STATE_TABLE}").fetchall()
    return {source: loaded_through - LOAD_TIME_SLACK for source, loaded_through in rows}


def _record_reads(con, read_from: dict) -> None:
    for name in ID_SOURCES:
        since = read_from.get(name)
        newest = con.execute(f"select max(_loaded_at) from raw.{name}" + (" where _loaded_at >= ?" if since else ""),
                             [since] if since else []).fetchone()[0]
        if newest is not None:
            con.execute(f"delete from {READ_STATE_TABLE} where source = ?", [name])
            con.execute(f"insert into {READ_STATE_TABLE} values (?, ?)", [name, newest])


def _existing_raw_tables(con) -> set[str]:
    rows = con.execute("select table_name from duckdb_tables() where schema_name = 'raw' and database_name = current_database()").fetchall()
    return {r[0] for r in rows}


def refresh_pseudonyms(con: duckdb.DuckDBPyConnection, key: PseudonymKey, rotate: bool = False) -> PseudonymRefresh:
    """Give every customer id in raw a key; ids on the erasure suppression list never get one.

    A different key than the map was built with would silently re-key every customer and break
    every incremental table: refuse unless ``rotate`` says the change is intended.
    """
    ensure_tables(con)
    missing = [s for s in ID_SOURCES if s not in _existing_raw_tables(con)]
    if missing:
        raise RuntimeError(f"raw tables {missing} do not exist yet: materialize the ingest assets first")
    recorded = con.execute(f"select key_fingerprint from {KEY_STATE_TABLE}").fetchall()
    rotated = False
    con.execute("begin transaction")
    try:
        if recorded and recorded[0][0] != key.fingerprint:
            if not rotate:
                raise PseudonymKeyChangedError(
                    "WAREHOUSE_PSEUDONYM_KEY is not the key the pseudonym map was built with (fingerprint "
                    f"{recorded[0][0]}, now {key.fingerprint}). Restore the old key; or, to rotate on purpose, "
                    "run `python -m orchestration build --full-refresh --rotate-pseudonym-key`: every customer_key "
                    "changes and every published table and export is rebuilt.")
            con.execute(f"delete from {MAP_TABLE}")
            rotated = True
        if not recorded or rotated:
            con.execute(f"delete from {KEY_STATE_TABLE}")
            con.execute(f"insert into {KEY_STATE_TABLE} values (?, now())", [key.fingerprint])
        suppression.ensure_table(con)
        before = con.execute(f"select count(*) from {MAP_TABLE}").fetchone()[0]
        read_from = _read_from(con, rotated)
        ids_sql, ids_params = _raw_ids_sql(read_from)
        con.execute(
            f"""insert into {MAP_TABLE}
                select ids.customer_id, {customer_key_sql('ids.customer_id')}, now()
                from ({ids_sql}) as ids
                where ids.customer_id is not null
                  and ids.customer_id not in (select customer_id from {MAP_TABLE})
                  and not {suppression.is_suppressed_sql('customer_id', 'ids.customer_id')}""",
            {**key.sql_params(), **ids_params},
        )
        _record_reads(con, read_from)
        total = con.execute(f"select count(*) from {MAP_TABLE}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return PseudonymRefresh(new_keys=total - before, total_keys=total, key_fingerprint=key.fingerprint, rotated=rotated)
