"""Command line for the warehouse: ``python -m orchestration build``.

``build`` is what the README's first command runs: it generates the demo landing
zone when it is empty, then materializes every asset through Dagster in one run
over a range of daily delivery-date partitions (a single-run backfill; runs are
recorded under DAGSTER_HOME, so they appear in ``dagster dev`` afterwards) and
prints what the warehouse now holds. ``--from/--to`` backfill a given range;
without them the range is every date with something to load (see
``orchestration/defs/ops/build_plan.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _landing_is_empty(landing_dir) -> bool:
    return not landing_dir.exists() or not any(p.is_file() for p in landing_dir.rglob("*"))


def _print_summary(database) -> None:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw','staging','intermediate','marts','ml','quality') "
            "and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        rows = [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]) for s, t in tables]
    finally:
        con.close()
    print(f"\nWarehouse {database}:")
    for schema, table, count in rows:
        print(f"  {schema + '.' + table:<45} {count:>12,} rows")


def build(args) -> int:
    from orchestration.settings import Settings, apply_quiet_network_env, plan_each_asset_once_for_a_range

    settings = Settings.from_env()
    apply_quiet_network_env()
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)

    if _landing_is_empty(settings.landing_dir):
        from landing.generate import generate

        print(f"Landing zone {settings.landing_dir} is empty: generating demo data "
              f"({args.customers:,} customers, {args.days} days, seed {args.seed}).")
        generate(out_dir=settings.landing_dir, truth_dir=settings.truth_dir, customers=args.customers,
                 days=args.days, seed=args.seed)
    else:
        print(f"Using the files already in {settings.landing_dir}.")

    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.dbt.assets import full_refresh_run_config
    from orchestration.defs.ingest.partitions import DeliveryFolderError
    from orchestration.defs.ops.build_plan import plan_build
    from orchestration.defs.ops.stale_runs import reap_dead_runs, this_process_tags
    from orchestration.defs.quality import data_docs

    instance = dg.DagsterInstance.get()
    # A run killed with kill -9 stays STARTED and keeps its duckdb_writer slot; with a pool of 1
    # this run would wait for it forever. Fail such runs and free their slots first.
    reap_dead_runs(instance)

    job = defs.resolve_job_def(args.job)
    plan = None
    if job.partitions_def is not None:  # build_warehouse; retrain_models is not partitioned
        graph = defs.resolve_asset_graph()
        partitioned = [k for k in job.asset_layer.executable_asset_keys if graph.get(k).partitions_def]
        try:
            plan = plan_build(settings.landing_dir, settings.duckdb_database, instance, partitioned,
                              date_from=args.date_from, date_to=args.date_to, full_refresh=args.full_refresh)
        except DeliveryFolderError as err:
            print(f"Not started: {err}", file=sys.stderr)
            return 2
        print(f"{args.job}: {plan.describe()}")
    elif args.date_from or args.date_to:
        print(f"Not started: {args.job} is not partitioned, so --from/--to do not apply to it.", file=sys.stderr)
        return 2

    started = time.perf_counter()
    # INFO keeps the console readable (asset materializations, check results, dbt lines); the
    # full DEBUG event log is still stored in the instance and shown in the UI.
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    if args.full_refresh:
        run_config.update(full_refresh_run_config(job))
    if args.rotate_pseudonym_key:
        if not args.full_refresh:
            print("Not started: --rotate-pseudonym-key changes every customer_key, so the incremental facts must be "
                  "rebuilt too: add --full-refresh.", file=sys.stderr)
            return 2
        run_config.setdefault("ops", {})["staging__customer_pseudonyms"] = {"config": {"rotate_key": True}}
    tags = {**this_process_tags(), "orchestration/mode": "full_refresh" if args.full_refresh else "incremental"}
    partition_key = None
    if plan and plan.first == plan.last:
        partition_key = plan.first
    elif plan:
        # What a single-run backfill of the range launches: one run, the range in its tags.
        tags.update({"dagster/asset_partition_range_start": plan.first,
                     "dagster/asset_partition_range_end": plan.last})
        plan_each_asset_once_for_a_range()
    result = job.execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False, tags=tags, partition_key=partition_key)
    # the checks render their own pages; the index listing them all is rendered once, here
    data_docs.refresh_index(settings.data_dir)
    elapsed = time.perf_counter() - started
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nRun {result.run_id} FAILED after {elapsed:.0f}s in step(s) {failed}. "
              "Open `make dev` and the run's page for the full error.", file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.0f}s.")
    _print_summary(settings.duckdb_database)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate demo data if the landing zone is empty, then materialize everything")
    b.add_argument("--job", default="build_warehouse")
    b.add_argument("--customers", type=int, default=10_000, help="demo scale when generating (default 10,000)")
    b.add_argument("--days", type=int, default=365)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                   help="backfill: first delivery date to (re)load (default: every date with something to load)")
    b.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                   help="backfill: last delivery date, inclusive (default: the --from date)")
    b.add_argument("--full-refresh", action="store_true",
                   help="rebuild the incremental dbt models from all of raw, over every delivery date present "
                        "(default: merge only new data)")
    b.add_argument("--rotate-pseudonym-key", action="store_true",
                   help="WAREHOUSE_PSEUDONYM_KEY was changed on purpose: give every customer a new customer_key "
                        "(needs --full-refresh; see docs/privacy.md)")
    b.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    return build(args)


if __name__ == "__main__":
    sys.exit(main())
