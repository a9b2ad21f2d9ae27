"""``python -m bench run --scale M``: measure the pipeline per stage and against the alternatives."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import data
from bench.scales import SCALES, parse_scale

COMPARISONS = ["floor", "pandas", "clv", "incremental"]
LIFETIMES_PINS = ["lifetimes==0.11.3", "pandas<2.2", "numpy<2", "scipy<1.14"]


def setup_lifetimes() -> int:
    """lifetimes 0.11 breaks on pandas 3 / numpy 2, so it gets its own venv, outside the project's deps."""
    venv = data.BENCH_DIR / ".venv-lifetimes"
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import lifetimes"], capture_output=True).returncode == 0:
        return 0
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *LIFETIMES_PINS]).returncode


def compare(parser: argparse.ArgumentParser, args) -> int:
    from bench import report, run

    only = {s for s in args.only.split(",") if s}
    if not only or only - {"floor", "pandas", "clv"}:
        parser.error(f"--only {args.only}: choose among floor, pandas, clv")
    out = args.out or args.results.with_name(args.results.stem + "-compared.json")
    print(f"results (updated as the comparisons go): {out}", flush=True)
    result = run.compare_afterwards(args.results, args.data_root, only, args.pandas_memory_cap_gib * 1024,
                                    checkpoint=lambda r: run.save(r, out))
    print(report.table(result))
    print(f"\nresults: {out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="generate (or reuse) demo data at a scale, run and measure everything")
    r.add_argument("--scale", default="M", help=f"{', '.join(f'{k}={v.customers:,}' for k, v in SCALES.items())} "
                                                "customers, or <customers>x<days>")
    r.add_argument("--seed", type=int, default=42)
    r.add_argument("--data-root", type=Path, default=data.DEFAULT_ROOT, help="where generated data is cached")
    r.add_argument("--results-dir", type=Path, default=None)
    r.add_argument("--skip", default="", help=f"comma-separated stages or comparisons to leave out ({', '.join(COMPARISONS)})")
    r.add_argument("--pandas-memory-cap-gib", type=float, default=16.0,
                   help="stop the pandas way once it holds this much memory (it may need more than the machine "
                        "has at L/XL); the comparison then reports bounds")
    r.add_argument("--copy-before-daily", type=Path, default=None,
                   help="keep a copy of the run directory as the full build left it, to re-measure the daily run "
                        "on (python -m bench daily)")
    c = sub.add_parser("compare", help="the comparisons of an earlier run, made now on its kept data and warehouse")
    c.add_argument("results", type=Path, help="the earlier run's results file (bench/results/<scale>-<time>.json)")
    c.add_argument("--data-root", type=Path, default=data.DEFAULT_ROOT, help="where that run's data is cached")
    c.add_argument("--only", default="floor,pandas,clv", help="comma-separated: floor, pandas, clv")
    c.add_argument("--out", type=Path, default=None,
                   help="where to write the combined result (default: beside the earlier one, -compared.json)")
    c.add_argument("--pandas-memory-cap-gib", type=float, default=16.0)
    sub.add_parser("setup-lifetimes", help="create bench/.venv-lifetimes for the CLV comparison")
    sub.add_parser("encryption", help="cost of an encrypted serving file (python -m bench encryption --help)",
                   add_help=False)
    sub.add_parser("daily", help="the daily run alone, measured, on a kept run directory (python -m bench daily "
                                 "--help)", add_help=False)
    sub.add_parser("suites", help="every expectation suite on a built warehouse, whole table against a partitioned "
                                  "run's rows (python -m bench suites --help)", add_help=False)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["encryption"]:
        from bench import encryption

        return encryption.main(argv[1:])
    if argv[:1] == ["daily"]:
        from bench import incremental

        return incremental.main(argv[1:])
    if argv[:1] == ["suites"]:
        from bench import suites

        return suites.main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "setup-lifetimes":
        return setup_lifetimes()
    if args.command == "compare":
        return compare(parser, args)

    from bench import report, run
    from bench.stages import STAGES

    scale = parse_scale(args.scale)
    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - set(COMPARISONS) - set(STAGES)
    if unknown:
        parser.error(f"--skip {','.join(sorted(unknown))}: not a stage ({', '.join(STAGES)}) "
                     f"or comparison ({', '.join(COMPARISONS)})")
    # Written after every stage and comparison, so a long run that is stopped keeps what it measured.
    path = run.results_path(scale.name, args.results_dir or run.RESULTS_DIR)
    print(f"results (updated as the run goes): {path}", flush=True)
    result = run.run(scale, args.seed, args.data_root, skip, pandas_memory_cap_mib=args.pandas_memory_cap_gib * 1024,
                     checkpoint=lambda r: run.save(r, path), copy_before_daily=args.copy_before_daily)
    print(f"\nScale {scale.name}: {scale.customers:,} customers x {scale.days} days (seed {args.seed})\n")
    print(report.table(result))
    print(f"\nresults: {path}")
    return 0 if all(s.get("status") in ("ok", "absent", "skipped") for s in result["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
