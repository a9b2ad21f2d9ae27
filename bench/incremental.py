"""The daily run against the full build: a real one-partition run of the held-back last delivery day.

The baseline is the full build the benchmark has just measured: every pipeline part run once over
every delivery date but the last (one single-run backfill from an empty warehouse, which is what a
full refresh does). Then the held-back day is delivered and the same parts run for that day's
partition only, as the daily schedule would: the event sources' ingest opens only that day's
folders and the incremental facts merge only the orders delivered that day (dbt ``--vars``).

Reported apart, so the ratio is not mistaken for the partitioned part's: the steps of the
partitioned assets (their cost follows the day's data) and what still runs over all the data in a
daily run (the unpartitioned sources, the expectation suites over whole tables, every other dbt
model and test).

The comparison runs only when some dbt model is materialized incrementally (read off the dbt
manifest, never assumed); otherwise the harness reports why it did not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bench import data, report
from orchestration.settings import DBT_PROJECT_DIR

# Dagster step keys of the partitioned assets: the event sources' ingest and the incremental facts.
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


def compare(run_dir: Path, logs: Path, held_back_day: str | None, stages_out: dict, parts: list[str],
            measure: Callable[[str, list[str]], dict], python: str) -> dict:
    """Deliver the held-back day, run ``parts`` for its partition only, and compare with the full build.

    ``measure(name, argv)`` runs and measures one process (bench.run's); ``parts`` are the pipeline
    parts present (ingest, checks, privacy, dbt and ml parts, in pipeline order).
    """
    models = incremental_models()
    if not models:
        return {"status": "not available yet (no dbt model is materialized incrementally)"}
    if not held_back_day:
        return {"status": "not available: the landing zone has a single delivery day, none was held back"}
    data.release_held_back(run_dir)
    daily = []
    for part in parts:
        name = f"daily_{part.replace(':', '_')}"
        timings = logs / f"{name}.timings.json"
        m = measure(name, [python, "-m", "bench.stage", part, "--from", held_back_day, "--to", held_back_day,
                           "--timings-out", str(timings)])
        if timings.exists():
            m["timings"] = {"steps_s": json.loads(timings.read_text())["steps_s"]}
        daily.append(m)
    daily_total = report.combine(daily)
    full = report._sum(stages_out, report.DAILY_STAGES)
    full_parts = [p for name in report.DAILY_STAGES for p in stages_out.get(name, {}).get("parts", [])]
    # What one part's process costs before it runs anything: importing Dagster and loading the code location.
    startup = measure("startup", [python, "-m", "bench.stage", "--list"])
    daily_steps, full_steps = partitioned_steps(daily), partitioned_steps(full_parts)
    daily_partitioned, full_partitioned = sum(daily_steps.values()), sum(full_steps.values())
    return {
        "models": models,
        "daily_partition": held_back_day,
        "daily": daily_total,
        "full_wall_s": full["wall_s"],
        "full_cpu_s": full["cpu_s"],
        "wall_ratio": report.ratio(daily_total["wall_s"], full["wall_s"]),
        "cpu_ratio": report.ratio(daily_total["cpu_s"], full["cpu_s"]),
        # the partitioned assets' own steps: cost of one day's folders and orders against all of them
        "partitioned_steps": {
            "daily_s": round(daily_partitioned, 3), "full_s": round(full_partitioned, 3),
            "ratio": _ratio(daily_partitioned, full_partitioned),
            "per_step_daily_vs_full_s": {k: [daily_steps.get(k), full_steps.get(k)]
                                         for k in sorted(full_steps.keys() | daily_steps.keys())},
        },
        # everything else a daily run still does over all the data
        "unpartitioned_daily_s": round(sum(sum(p.get("timings", {}).get("steps_s", {}).values()) for p in daily)
                                       - daily_partitioned, 3),
        "data": day_share(run_dir / "warehouse.duckdb", held_back_day),
        "one_process_estimate": one_process_estimate(daily_total, len(daily), full, len(full_parts), startup),
    }


def one_process_estimate(daily: dict, daily_parts: int, full: dict, full_parts: int, startup: dict) -> dict:
    """Both sides as if each ran in one process, as production does (one run of ``build_warehouse``): the
    harness starts a process per part, so every part but one pays a start-up production does not. An
    estimate, and a conservative one: ``startup`` (``bench.stage --list``) loads the code location but
    launches no run."""
    out = {"startup_wall_s": startup["wall_s"], "startup_cpu_s": startup["cpu_s"],
           "daily_parts": daily_parts, "full_parts": full_parts}
    for kind in ("wall_s", "cpu_s"):
        d = daily[kind] - (daily_parts - 1) * startup[kind]
        f = full[kind] - (full_parts - 1) * startup[kind]
        out[f"daily_{kind}"], out[f"full_{kind}"] = round(d, 3), round(f, 3)
        out[f"{kind.removesuffix('_s')}_ratio"] = report.ratio(d, f)
    return out
