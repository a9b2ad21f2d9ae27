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

import duckdb

from landing.contract import SOURCES
from orchestration.secret_keys import PseudonymKey, hmac_sql

from . import suppression

MAP_TABLE = "staging.customer_pseudonyms"
KEY_STATE_TABLE = "staging.customer_pseudonym_key"
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


def _raw_ids_sql() -> str:
    # the same cleaning as the staging models' clean_string(): trimmed, '' is no id
    parts = [f"select nullif(trim(customer_id), '') as customer_id from raw.{name}" for name in ID_SOURCES]
    return " union ".join(parts)


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
        con.execute(
            f"""insert into {MAP_TABLE}
                select ids.customer_id, {customer_key_sql('ids.customer_id')}, now()
                from ({_raw_ids_sql()}) as ids
                where ids.customer_id is not null
                  and ids.customer_id not in (select customer_id from {MAP_TABLE})
                  and not {suppression.is_suppressed_sql('customer_id', 'ids.customer_id')}""",
            key.sql_params(),
        )
        total = con.execute(f"select count(*) from {MAP_TABLE}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return PseudonymRefresh(new_keys=total - before, total_keys=total, key_fingerprint=key.fingerprint, rotated=rotated)
