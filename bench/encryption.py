"""Cost of DuckDB database encryption for the serving file: publish and BI-style reads, with and without.

Measures on a built warehouse (default: the one `make run` leaves in data/): the time to write the
published schemas into a new file, its size, and two reads a BI tool does (count every table; an
aggregate over the largest one), plain vs encrypted, in one process and one run.

DuckDB writes encrypted files securely only with OpenSSL from its httpfs extension. Where httpfs
cannot be installed (this offline machine), the measurement falls back to DuckDB's built-in mbedtls
module (`force_mbedtls_unsafe`): the same AES-GCM work per block, but a random source DuckDB does not
vouch for. It is good enough to measure the cost, never to protect data; the output says which was used.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "ml")
KEY = "benchmark-only-key-0123456789abcdef"


def _tables(con) -> list[tuple[str, str]]:
    return con.execute("select schema_name, table_name from duckdb_tables() where database_name = 'src' "
                       f"and schema_name in {SCHEMAS} order by 1, 2").fetchall()


def _write(con, tables, target: Path, encrypted: bool) -> float:
    options = "storage_version 'v1.4.0'" + (f", encryption_key '{KEY}'" if encrypted else "")
    started = time.perf_counter()
    con.execute(f"attach '{target}' as out ({options})")
    for schema in {s for s, _ in tables}:
        con.execute(f"create schema out.{schema}")
    for schema, table in tables:
        con.execute(f'create table out.{schema}."{table}" as select * from src.{schema}."{table}"')
    con.execute("checkpoint out")
    con.execute("detach out")
    return time.perf_counter() - started


def _read(target: Path, tables, largest: str, encrypted: bool) -> float:
    con = duckdb.connect()
    options = "read_only" + (f", encryption_key '{KEY}'" if encrypted else "")
    started = time.perf_counter()
    con.execute(f"attach '{target}' as w ({options})")
    for schema, table in tables:
        con.execute(f'select count(*) from w.{schema}."{table}"').fetchall()
    con.execute(f"select count(*), sum(hash(columns(*))) from w.{largest}").fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def measure(database: Path, repeats: int = 3) -> dict:
    con = duckdb.connect()
    con.execute(f"attach '{database}' as src (read_only)")
    try:
        con.execute("load httpfs")
        crypto = "openssl (httpfs)"
    except duckdb.Error:
        con.execute("set force_mbedtls_unsafe = 'true'")
        crypto = "mbedtls (built-in, measurement only)"
    tables = _tables(con)
    largest = max(tables, key=lambda t: con.execute(f'select count(*) from src.{t[0]}."{t[1]}"').fetchone()[0])
    largest_name = f'{largest[0]}."{largest[1]}"'
    results: dict = {"crypto": crypto, "tables": len(tables), "largest_table": ".".join(largest)}
    with tempfile.TemporaryDirectory() as tmp:
        for encrypted in (False, True):
            label = "encrypted" if encrypted else "plain"
            writes, reads = [], []
            for i in range(repeats):
                target = Path(tmp) / f"{label}-{i}.duckdb"
                writes.append(_write(con, tables, target, encrypted))
                reads.append(_read(target, tables, largest_name, encrypted))
            results[label] = {"write_seconds": round(min(writes), 3), "read_seconds": round(min(reads), 3),
                              "bytes": target.stat().st_size}
    con.close()
    results["write_ratio"] = round(results["encrypted"]["write_seconds"] / results["plain"]["write_seconds"], 2)
    results["read_ratio"] = round(results["encrypted"]["read_seconds"] / results["plain"]["read_seconds"], 2)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench encryption", description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.database, args.repeats), indent=2))
    return 0
