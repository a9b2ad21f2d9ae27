"""The daily run against the full build: a real one-partition run of the held-back last delivery day.

The baseline is the full build the benchmark has just measured: every pipeline part run once over
every delivery date but the last (one single-run backfill from an empty warehouse, which is what a
full refresh does). Then the held-back day is delivered and the same parts run for that day's
partition only, in one Dagster run and one process as the daily schedule runs them: the event
sources' ingest opens only that day's folders, the incremental facts merge only the orders
delivered that day (dbt ``--vars``) and the suites validate the rows the run wrote.

Reported apart, so the ratio is not mistaken for the partitioned part's: the steps of the
partitioned assets (their cost follows the day's data) and what still runs over all the data in a
daily run (the unpartitioned sources, the expectation suites over whole tables, every other dbt
model and test).

The comparison runs only when some dbt model is materialized incrementally (read off the dbt
manifest, never assumed); otherwise the harness reports why it did not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench import data, report, stages
from bench.measure import run_measured
from orchestration.settings import DBT_PROJECT_DIR

# Dagster step keys of the partitioned assets: the event sources' ingest and the partitioned dbt asset (the
# incremental models; since the three-step layout also staging and the dimensions, which it rebuilds whole).
PARTITIONED_STEP_PREFIXES = ("raw__orders", "raw__order_items", "raw__web_events", "raw__support_tickets",
                             "raw__survey_responses", "raw__campaign_events", "incremental_dbt_facts")


def incremental_models(manifest: Path = DBT_PROJECT_DIR / "target" / "manifest.json") -> list[str]:
    if not manifest.exists():
        return []
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(n["name"] for n in nodes
                  if n.get("resource_type") == "model" and n.get("config", {}).get("materialized") == "incremental")


def _is_partitioned_step(step: str) -> bool:
    # expectation-suite steps of a partitioned asset (raw__orders_expectation_suite) check the day's rows, but still
    # read the whole table for its table-level expectations (row counts, aggregates, freshness, uniqueness), so they
    # count as unpartitioned work
    return step.startswith(PARTITIONED_STEP_PREFIXES) and "expectation_suite" not in step


def partitioned_steps(parts: list[dict]) -> dict[str, float]:
    """Seconds per step of the partitioned assets, from the parts' timings."""
    out: dict[str, float] = {}
    for part in parts:
        for step, seconds in part.get("timings", {}).get("steps_s", {}).items():
            if _is_partitioned_step(step):
                out[step] = round(out.get(step, 0.0) + seconds, 3)
    return out


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def day_share(database: Path, day: str) -> dict:
    """Rows of the partitioned raw tables delivered on ``day`` against all of them."""
    import duckdb

    from orchestration.defs.ingest.partitions import PARTITIONED_SOURCES

    con = duckdb.connect(str(database), read_only=True)
    try:
        day_rows = total = 0
        for source in PARTITIONED_SOURCES:
            d, t = con.execute(f"select count(*) filter (where split_part(_source_file, '/', 2) = ?), count(*) "
                               f"from raw.{source}", [day]).fetchone()
            day_rows, total = day_rows + d, total + t
    finally:
        con.close()
    return {"day_rows": day_rows, "total_rows": total, "fraction": _ratio(day_rows, total)}


def measure_daily(logs: Path, day: str, measure: Callable[[str, list[str]], dict], python: str) -> dict:
    """The daily run of ``day``'s partition: every part of the compared stages in one Dagster run and one
    process, as the daily schedule runs them, with each step's and each dbt node's seconds."""
    timings = logs / "daily.timings.json"
    m = measure("daily", [python, "-m", "bench.stage", stages.ONE_RUN, "--from", day, "--to", day,
                          "--timings-out", str(timings)])
    m["ok"] = m["returncode"] == 0
    if timings.exists():
        m["timings"] = report.summarise_timings(json.loads(timings.read_text()))
    return m


def compare(run_dir: Path, logs: Path, held_back_day: str | None, stages_out: dict,
            measure: Callable[[str, list[str]], dict], python: str) -> dict:
    """Deliver the held-back day, run it as the daily schedule does, and compare with the full build.

    ``measure(name, argv)`` runs and measures one process (bench.run's).
    """
    models = incremental_models()
    if not models:
        return {"status": "not available yet (no dbt model is materialized incrementally)"}
    if not held_back_day:
        return {"status": "not available: the landing zone has a single delivery day, none was held back"}
    data.release_held_back(run_dir)
    daily = measure_daily(logs, held_back_day, measure, python)
    full = report._sum(stages_out, report.DAILY_STAGES)
    full_parts = [p for name in report.DAILY_STAGES for p in stages_out.get(name, {}).get("parts", [])]
    # What one part's process costs before it runs anything: importing Dagster and loading the code location.
    startup = measure("startup", [python, "-m", "bench.stage", "--list"])
    daily_steps, full_steps = partitioned_steps([daily]), partitioned_steps(full_parts)
    daily_partitioned, full_partitioned = sum(daily_steps.values()), sum(full_steps.values())
    return {
        "models": models,
        "daily_partition": held_back_day,
        "daily": daily,
        **against_full_build(daily, full, len(full_parts), startup),
        # the partitioned assets' own steps: cost of one day's folders and orders against all of them
        "partitioned_steps": {
            "daily_s": round(daily_partitioned, 3), "full_s": round(full_partitioned, 3),
            "ratio": _ratio(daily_partitioned, full_partitioned),
            "per_step_daily_vs_full_s": {k: [daily_steps.get(k), full_steps.get(k)]
                                         for k in sorted(full_steps.keys() | daily_steps.keys())},
        },
        # everything else a daily run still does over all the data
        "unpartitioned_daily_s": round(sum(daily.get("timings", {}).get("steps_s", {}).values())
                                       - daily_partitioned, 3),
        "data": day_share(run_dir / "warehouse.duckdb", held_back_day),
    }


def against_full_build(daily: dict, full: dict, full_parts: int, startup: dict) -> dict:
    """The daily run (one process) against the full build as one process too.

    The harness measures the full build one process per part, so that each stage has its own time and
    peak; production runs it as one (``make run``). Its side is taken less the start-ups of every part
    but one. ``startup`` (``bench.stage --list``) loads the code location but launches no run, so part of
    each start-up stays on the full side: the ratio errs high, never flattering. The sum as measured, and
    the ratio against it, are kept beside.
    """
    out = {}
    for kind in ("wall_s", "cpu_s"):
        out[f"full_{kind}"] = round(full[kind] - (full_parts - 1) * startup[kind], 3)
        out[f"{kind.removesuffix('_s')}_ratio"] = report.ratio(daily[kind], out[f"full_{kind}"])
    out["full_as_measured"] = {
        "processes": full_parts, "wall_s": full["wall_s"], "cpu_s": full["cpu_s"],
        "startup_wall_s": startup["wall_s"], "startup_cpu_s": startup["cpu_s"],
        "wall_ratio": report.ratio(daily["wall_s"], full["wall_s"]),
        "cpu_ratio": report.ratio(daily["cpu_s"], full["cpu_s"]),
    }
    return out


def main(argv=None) -> int:
    """``python -m bench daily``: the daily run alone, measured, on a kept run directory.

    For re-measuring a change to the daily path at scale without a whole benchmark run: keep a copy of
    a run directory whose warehouse holds every day but the held-back one (copy it before the daily
    run writes), point this at a fresh copy, and compare the figures with the full build of the run
    that made it.
    """
    parser = argparse.ArgumentParser(prog="python -m bench daily", description=main.__doc__)
    parser.add_argument("run_dir", type=Path, help="a benchmark run directory (warehouse.duckdb, landing, ...)")
    parser.add_argument("--day", required=True, help="the delivery date to run (delivered now if held back)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the figures (JSON)")
    args = parser.parse_args(argv)
    if not (args.run_dir / "warehouse.duckdb").exists():
        parser.error(f"{args.run_dir} has no warehouse.duckdb: not a benchmark run directory")
    if (args.run_dir / "held_back").exists():
        data.release_held_back(args.run_dir)
    logs = args.run_dir.parent / f"logs-daily-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    logs.mkdir(parents=True)
    env = data.run_env(args.run_dir)

    def measure(name: str, argv_: list[str]) -> dict:
        return run_measured(name, argv_, env=env, cwd=data.BENCH_DIR.parent,
                            log_path=logs / f"{name}.log").as_dict()

    daily = measure_daily(logs, args.day, measure, sys.executable)
    out = {"daily_partition": args.day, "run_dir": str(args.run_dir), "daily": daily,
           "partitioned_steps_s": partitioned_steps([daily]),
           "data": day_share(args.run_dir / "warehouse.duckdb", args.day)}
    args.out.write_text(json.dumps(out, indent=1))
    print(f"daily run {args.day}: {daily['wall_s']:.1f}s wall, {daily['cpu_s']:.1f}s cpu, "
          f"{daily['peak_tree_rss_mib']:.0f} MiB peak, ok={daily['ok']}; {args.out}")
    return 0 if daily["ok"] else 1
