"""``python -m bench suites WAREHOUSE``: every expectation suite on a built warehouse, whole table against the
rows of the newest write (what a partitioned run validates), timed in this one process.

Opens the warehouse read-only, so it measures a bench or production warehouse as it was left, e.g. after the
bench's daily run, whose newest load batches and builds are that day's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.suites import discover_suites

MODES = {"whole": False, "changed": True}


def measure(database: Path) -> dict:
    con = duckdb.connect(str(database), read_only=True)
    suites = {}
    try:
        for suite in discover_suites():
            suites[suite.name] = {}
            for mode, changed_rows_only in MODES.items():
                wall, cpu = time.perf_counter(), time.process_time()
                result = run_suite(con, suite, changed_rows_only=changed_rows_only)
                suites[suite.name][mode] = {
                    "wall_s": round(time.perf_counter() - wall, 3), "cpu_s": round(time.process_time() - cpu, 3),
                    "success": result.success, "scope": result.scope, "rows_checked": result.rows_checked,
                    "row_count": result.row_count, "failed": [r.label for r in result.failed]}
    finally:
        con.close()
    totals = {mode: {kind: round(sum(s[mode][kind] for s in suites.values()), 3) for kind in ("wall_s", "cpu_s")}
              for mode in MODES}
    return {"database": str(database), "suites": suites, "totals": totals}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench suites", description=__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--out", type=Path, help="write the measurements here as JSON")
    args = parser.parse_args(argv)
    result = measure(args.warehouse)
    print(f"{'suite':40} {'whole s':>8} {'changed s':>9}  rows checked (changed)")
    for name, s in result["suites"].items():
        print(f"{name:40} {s['whole']['wall_s']:8.2f} {s['changed']['wall_s']:9.2f}  "
              f"{s['changed']['rows_checked']:,} of {s['changed']['row_count']:,} ({s['changed']['scope']})")
    t = result["totals"]
    print(f"{'all suites':40} {t['whole']['wall_s']:8.2f} {t['changed']['wall_s']:9.2f}  "
          f"CPU {t['whole']['cpu_s']:.1f} s against {t['changed']['cpu_s']:.1f} s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    failed = [n for n, s in result["suites"].items() if not (s["whole"]["success"] and s["changed"]["success"])]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0
