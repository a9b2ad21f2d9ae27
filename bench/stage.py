"""One pipeline part in this process: ``python -m bench.stage <part> [--full-refresh] [--from D --to D]``.

The parent measures this process (and dbt, its child). It runs the same Definitions,
resources and executor as ``python -m orchestration build``, on a job limited to the
part's selection; `--list` prints which parts are present (as JSON) and exits.
A part with delivery-date partitions runs over ``--from``..``--to`` in one run (a single-run
backfill), by default every delivery date in the landing zone (the full build). A checks part
given one date runs in that day's partition, as the suites do inside the daily run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage")
    parser.add_argument("part", nargs="?")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--timings-out", help="write each step's and each dbt node's seconds here (JSON)")
    parser.add_argument("--from", dest="date_from", help="first delivery date (default: the first one landed)")
    parser.add_argument("--to", dest="date_to", help="last delivery date (default: --from, or the last one landed)")
    args = parser.parse_args(argv)

    from orchestration.settings import Settings, apply_quiet_network_env, plan_each_asset_once_for_a_range

    apply_quiet_network_env()
    settings = Settings.from_env()
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)

    import dagster as dg

    from bench import stages
    from orchestration.definitions import defs
    from orchestration.defs.quality import data_docs

    if args.list:
        present = {part: stages.selection(defs, part) is not None for _, part in stages.PARTS}
        print(json.dumps({"present": present, "unassigned_groups": stages.unassigned_groups(defs)}))
        return 0

    chosen = stages.selection(defs, args.part)
    if chosen is None:
        print(f"{args.part}: nothing selected", file=sys.stderr)
        return 3
    job = dg.define_asset_job(f"bench_{args.part.replace(':', '_').replace('-', '_')}", selection=chosen)
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    resolved = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(job.name)
    if args.full_refresh and args.part == "dbt":
        from orchestration.defs.dbt.assets import full_refresh_run_config

        run_config.update(full_refresh_run_config(resolved))
    partition_key, tags = None, {}
    if resolved.partitions_def is not None:
        first, last = delivery_window(settings.landing_dir, args.date_from, args.date_to)
        if first == last:
            partition_key = first
        else:
            tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
            plan_each_asset_once_for_a_range()  # as `orchestration build` does for a range
    elif args.part.startswith("checks:") and args.date_from and args.date_to in (None, args.date_from):
        # A checks-only job has no partitions of its own, but in production the suites run inside the
        # partitioned daily run and validate the rows it wrote; the run's partition tag is what they read.
        tags = {"dagster/partition": args.date_from}
    result = resolved.execute_in_process(instance=dg.DagsterInstance.get(), run_config=run_config,
                                         raise_on_error=False, partition_key=partition_key, tags=tags)
    data_docs.refresh_index(settings.data_dir)  # as `orchestration build` does after its run
    if args.timings_out:
        write_timings(result, args.timings_out)
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"{args.part}: run {result.run_id} failed in {failed}", file=sys.stderr)
        return 1
    return 0


def delivery_window(landing_dir, date_from: str | None, date_to: str | None) -> tuple[str, str]:
    """The run's delivery dates: as given, else every date landed (what `orchestration build` does on a fresh warehouse)."""
    if date_from:
        return date_from, date_to or date_from
    from orchestration.defs.ingest.partitions import delivery_dates

    days = delivery_dates(landing_dir)
    if not days:
        raise SystemExit(f"no delivery folders under {landing_dir}: nothing to run a partition of")
    return days[0], date_to or days[-1]


def write_timings(result, path: str) -> None:
    """Where the stage's time went: dbt's own per-node durations (models and tests) and Dagster's per step."""
    nodes, steps = {}, {}
    for event in result.all_events:
        data = event.event_specific_data
        if event.is_step_success or event.is_step_failure:
            steps[event.step_key] = round(getattr(data, "duration_ms", 0) / 1000, 3)
        evaluation = getattr(data, "materialization", None) or data
        metadata = getattr(evaluation, "metadata", None) or {}
        duration = metadata.get("Execution Duration")
        if duration is not None:
            name = getattr(evaluation, "asset_key", None) or getattr(evaluation, "asset_check_key", None)
            label = name.to_user_string() if hasattr(name, "to_user_string") else str(name)
            if hasattr(evaluation, "check_name"):
                label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            nodes[label] = round(float(getattr(duration, "value", duration)), 3)
    with open(path, "w") as fh:
        json.dump({"steps_s": steps, "dbt_nodes_s": nodes}, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
