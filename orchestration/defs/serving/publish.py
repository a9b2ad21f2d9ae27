"""Publish the marts and model outputs to a separate file that BI tools read.

The build warehouse has one writer and is rebuilt in place, so a BI tool reading it would
take the file lock away from the pipeline and see tables mid-rebuild. Instead every
successful run copies the published schemas into a new file beside the old one and renames
it over the old one: a reader has either the previous publication or the new one, never a
mix, and the rename does not wait for readers (it swaps the directory entry, not the
contents a reader holds open). No Dagster here, so it can be called and tested alone.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.defs.privacy import pii_scan

# Only these leave the build file: raw, staging and quality hold personal data and dirt.
PUBLISHED_SCHEMAS = ("marts", "ml")
# DuckDB 2.0 writes a format that DuckDB 1.x cannot open; BI tools bundle 1.x drivers for a
# long time, so the serving file is written in the v1.0.0 format every 1.x release reads.
STORAGE_VERSION = "v1.0.0"
# DuckDB database encryption (WAREHOUSE_ENCRYPTION_KEY) exists from storage format v1.4.0, so an
# encrypted serving file needs DuckDB 1.4 or newer in the BI tool.
ENCRYPTED_STORAGE_VERSION = "v1.4.0"
SERVING_FILE = "warehouse.duckdb"
PARQUET_LINK = "parquet"
PARQUET_VERSIONS = "parquet_versions"
# Older Parquet folders are kept this many publications back, for readers that listed the
# folder just before a swap and open its files just after.
KEEP_PARQUET_VERSIONS = 2


class PublishError(RuntimeError):
    pass


@dataclass
class Publication:
    database: Path
    parquet_dir: Path
    storage_version: str
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    database_bytes: int = 0
    parquet_bytes: int = 0
    seconds: float = 0.0
    pii_scan_seconds: float = 0.0
    known_identifiers_checked: int = 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def published_relations(con: duckdb.DuckDBPyConnection, schemas=PUBLISHED_SCHEMAS) -> list[tuple[str, str, str]]:
    """(schema, name, comment) of every table and view in the published schemas of the current database."""
    placeholders = ", ".join("?" for _ in schemas)
    return con.execute(
        f"""
        select schema_name, table_name, comment from duckdb_tables()
         where database_name = current_database() and schema_name in ({placeholders})
        union all
        select schema_name, view_name, comment from duckdb_views()
         where database_name = current_database() and schema_name in ({placeholders}) and not internal
        order by 1, 2
        """,
        [*schemas, *schemas],
    ).fetchall()


def _copy_comments(con, source_db: str, schema: str, table: str, comment: str | None) -> None:
    target = f"serving_build.{_quote(schema)}.{_quote(table)}"
    if comment:
        con.execute(f"comment on table {target} is {_literal(comment)}")
    columns = con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? and comment is not null",
        [source_db, schema, table],
    ).fetchall()
    for column, text in columns:
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(text)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _attach_options(storage_version: str, encryption_key: str | None, read_only: bool = False) -> str:
    options = [f"storage_version {_literal(storage_version)}"] if not read_only else ["read_only"]
    if encryption_key:
        options.append(f"encryption_key {_literal(encryption_key)}")
    return ", ".join(options)


def _require_secure_crypto(con) -> None:
    """DuckDB writes encrypted files only with OpenSSL from its httpfs extension (its built-in module is read-only)."""
    try:
        con.execute("load httpfs")
    except duckdb.Error as exc:
        version = duckdb.__version__
        raise PublishError(
            "WAREHOUSE_ENCRYPTION_KEY is set, but DuckDB can only write encrypted files with its httpfs extension "
            f"(OpenSSL), which is not installed for DuckDB {version}: {exc}. Install it once on a machine that can "
            f"reach the extension repository (`python -c \"import duckdb; duckdb.sql('install httpfs')\"`), or "
            f"`pip install duckdb-extension-httpfs=={version}` where that wheel exists; or unset the key.") from exc


def _write_database(con, relations, target: Path, run_id: str, storage_version: str,
                    encryption_key: str | None = None) -> dict[str, int]:
    source_db = con.execute("select current_database()").fetchone()[0]
    con.execute(f"attach {_literal(str(target))} as serving_build ({_attach_options(storage_version, encryption_key)})")
    try:
        counts = {}
        for schema in sorted({s for s, _, _ in relations}):
            con.execute(f"create schema serving_build.{_quote(schema)}")
        for schema, table, comment in relations:
            name = f"{_quote(schema)}.{_quote(table)}"
            try:
                # Views become tables: a BI user sees data, not a query over schemas that are not there.
                con.execute(f"create table serving_build.{name} as select * from {_quote(source_db)}.{name}")
            except duckdb.Error as exc:
                raise PublishError(f"could not copy {schema}.{table} into the serving file {target} "
                                   f"(storage version {storage_version}): {exc}") from exc
            _copy_comments(con, source_db, schema, table, comment)
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from serving_build.{name}").fetchone()[0]
        con.execute(
            "create table serving_build.main.publication as select ? as run_id, ? as published_at, "
            "? as storage_version, ? as table_count",
            [run_id, datetime.now(timezone.utc), storage_version, len(counts)],
        )
        con.execute("checkpoint serving_build")
    finally:
        con.execute("detach serving_build")
    wal = target.with_name(target.name + ".wal")
    if wal.exists():
        raise PublishError(f"{wal} is left after checkpoint; the serving file would not be self-contained")
    return counts


def _scan_for_personal_data(con, target: Path, encryption_key: str | None = None) -> tuple[int, float]:
    """Refuse to publish a file holding an e-mail, a phone number or a known identifier of a customer."""
    started = time.perf_counter()
    identifiers = pii_scan.load_identifiers(con)
    con.execute(f"attach {_literal(str(target))} as pii_check ({_attach_options('', encryption_key, read_only=True)})")
    try:
        findings = pii_scan.scan_database(con, "pii_check", PUBLISHED_SCHEMAS)
    finally:
        con.execute("detach pii_check")
    if findings:
        listed = "; ".join(f"{f.where}: {f.count} {f.kind}" for f in findings[:20])
        raise PublishError(f"not publishing: personal data in the serving copy ({listed}). Published tables must "
                           "carry customer_key and derived attributes only; fix the model that copies the identifier.")
    return identifiers, time.perf_counter() - started


def open_serving_file(path: Path, encryption_key: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the serving file, as a BI tool opens it (with the key if it is encrypted)."""
    if not encryption_key:
        return duckdb.connect(str(path), read_only=True)
    con = duckdb.connect()
    con.execute(f"attach {_literal(str(path))} as warehouse ({_attach_options('', encryption_key, read_only=True)})")
    con.execute("use warehouse")
    return con


def _write_parquet(con, relations, folder: Path) -> int:
    total = 0
    for schema, table, _ in relations:
        out = folder / schema / f"{table}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy (select * from {_quote(schema)}.{_quote(table)}) to {_literal(str(out))} "
                    "(format parquet, compression zstd)")
        total += out.stat().st_size
    return total


def _swap_parquet(serving_dir: Path, version_dir: Path, run_id: str) -> None:
    """Point ``parquet`` at the new folder with one rename of a symlink, which is atomic."""
    link = serving_dir / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        # A plain folder from a copy or an older layout: keep it as one more version.
        link.rename(serving_dir / PARQUET_VERSIONS / f"previous-{run_id}")
    tmp_link = serving_dir / f"{PARQUET_LINK}.tmp-{run_id}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(version_dir.relative_to(serving_dir), target_is_directory=True)
    os.replace(tmp_link, link)


def _prune_parquet_versions(serving_dir: Path, current: Path, keep: int = KEEP_PARQUET_VERSIONS) -> None:
    versions = sorted((p for p in (serving_dir / PARQUET_VERSIONS).iterdir() if p.is_dir() and p != current),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in versions[keep - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _clean_leftovers(serving_dir: Path) -> None:
    """A run killed mid-publish leaves its aside copies; they were never visible to readers."""
    for path in serving_dir.glob(f"{SERVING_FILE}.tmp-*"):
        path.unlink(missing_ok=True)
    for path in serving_dir.glob(f"{PARQUET_LINK}.tmp-*"):
        path.unlink(missing_ok=True)


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, run_id: str,
            storage_version: str = STORAGE_VERSION, keep_previous: bool = True,
            encryption_key: str | None = None) -> Publication:
    """Copy the published schemas of ``con``'s database into ``serving_dir`` and swap them in.

    ``con`` is the pipeline's own connection to the build warehouse (the single writer),
    so the copy reads one consistent state of it. ``keep_previous=False`` deletes every older
    Parquet version at once (after an erasure: no copy may keep the erased person).
    ``encryption_key`` writes the DuckDB file encrypted (AES-GCM; storage v1.4.0, readers need the key);
    the Parquet copies are not written then, since they would hold the same data in the clear.
    """
    started = time.perf_counter()
    serving_dir = Path(serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(serving_dir)
    if encryption_key:
        _require_secure_crypto(con)
        storage_version = max(storage_version, ENCRYPTED_STORAGE_VERSION, key=lambda v: tuple(map(int, v[1:].split("."))))
    relations = published_relations(con)
    if not relations:
        raise PublishError(f"nothing to publish: the build warehouse has no tables in schemas {PUBLISHED_SCHEMAS}; "
                           "materialize the marts first")

    final = serving_dir / SERVING_FILE
    aside = serving_dir / f"{SERVING_FILE}.tmp-{run_id}"
    version_dir = serving_dir / PARQUET_VERSIONS / run_id
    shutil.rmtree(version_dir, ignore_errors=True)
    try:
        counts = _write_database(con, relations, aside, run_id, storage_version, encryption_key)
        identifiers, scan_seconds = _scan_for_personal_data(con, aside, encryption_key)
        parquet_bytes = 0 if encryption_key else _write_parquet(con, relations, version_dir)
        # BI users get the file read-only at the file-system level as well as by connection mode.
        os.chmod(aside, 0o444)
        _fsync(aside)
    except BaseException:
        aside.unlink(missing_ok=True)
        shutil.rmtree(version_dir, ignore_errors=True)
        raise
    os.replace(aside, final)
    if encryption_key:
        # clear-text Parquet from earlier publications would defeat the encryption
        link = serving_dir / PARQUET_LINK
        if link.is_symlink() or link.is_file():
            link.unlink()
        shutil.rmtree(serving_dir / PARQUET_VERSIONS, ignore_errors=True)
        _fsync(serving_dir)
    else:
        _swap_parquet(serving_dir, version_dir, run_id)
        _fsync(serving_dir)
        _prune_parquet_versions(serving_dir, version_dir, KEEP_PARQUET_VERSIONS if keep_previous else 1)
    return Publication(database=final, parquet_dir=serving_dir / PARQUET_LINK, storage_version=storage_version,
                       tables=counts, database_bytes=final.stat().st_size, parquet_bytes=parquet_bytes,
                       seconds=time.perf_counter() - started, pii_scan_seconds=scan_seconds,
                       known_identifiers_checked=identifiers)
