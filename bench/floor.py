"""The SQL floor: hand-written DuckDB scripts over the landing files, one process, no framework.

``python -m bench.floor --landing DIR --database FILE --out STEPS.json customer_marts rest``
runs the named scripts of bench/sql in order and writes each step's seconds and the
row count of every table it built (for the parity check against the pipeline).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"
_STEP = re.compile(r"^-- @step (\S+)\s*$", re.MULTILINE)


def steps(script: str) -> list[tuple[str, str]]:
    parts = _STEP.split(Path(SQL_DIR / f"{script}.sql").read_text())
    # parts = [preamble, name1, body1, name2, body2, ...]
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts), 2)]


def run(landing: Path, database: Path, scripts: list[str], threads: int | None = None) -> dict:
    import duckdb

    database.unlink(missing_ok=True)
    config: dict = {"threads": threads} if threads else {}
    if os.environ.get("DUCKDB_MEMORY_LIMIT"):  # the pipeline's cap, so both sides work in the same memory
        config["memory_limit"] = os.environ["DUCKDB_MEMORY_LIMIT"]
    con = duckdb.connect(str(database), config=config)
    timings = {}
    for script in scripts:
        for name, body in steps(script):
            started = time.perf_counter()
            con.execute(body.replace("{landing}", str(landing)))
            timings[name] = round(time.perf_counter() - started, 3)
    tables = con.execute("select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
                         "order by 1").fetchall()
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t, _ in tables}
    con.close()
    return {"steps_s": timings, "row_counts": counts}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floor")
    p.add_argument("scripts", nargs="+")
    p.add_argument("--landing", type=Path, required=True)
    p.add_argument("--database", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.write_text(json.dumps(run(args.landing, args.database, args.scripts), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
