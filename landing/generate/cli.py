"""Command line: ``python -m landing.generate [--customers N] [--days D] ...``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from .pipeline import generate


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m landing.generate", description=__doc__.split("\n")[0] +
                                 " Writes deterministic demo files into the landing zone and the planted truth beside it.")
    ap.add_argument("--customers", type=int, default=10_000, help="number of customers (default 10000)")
    ap.add_argument("--days", type=int, default=365, help="length of the data window in days (default 365)")
    ap.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 10, 31),
                    help="last day of the window, YYYY-MM-DD (default 2026-10-31)")
    ap.add_argument("--seed", type=int, default=42, help="random seed; same arguments give byte-identical files")
    ap.add_argument("--out", type=Path, default=None, help="landing directory (default: LANDING_DIR setting)")
    ap.add_argument("--truth-dir", type=Path, default=None, help="truth directory (default: TRUTH_DIR setting)")
    ap.add_argument("--chunk-size", type=int, default=50_000, help="customers per chunk (memory vs. file count)")
    ap.add_argument("--if-empty", action="store_true", help="do nothing when the landing directory already has files")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def _has_files(path: Path) -> bool:
    return path.is_dir() and any(p.is_file() for p in path.rglob("*"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.out is None or args.truth_dir is None:
        from orchestration.settings import Settings

        settings = Settings.from_env()
        args.out = args.out or settings.landing_dir
        args.truth_dir = args.truth_dir or settings.truth_dir
    if args.if_empty and _has_files(args.out):
        print(f"landing directory {args.out} already has files; not generating (--if-empty)")
        return 0
    summary = generate(args.out, args.truth_dir, customers=args.customers, days=args.days, end_date=args.end_date,
                       seed=args.seed, progress=None if args.quiet else print, chunk_size=args.chunk_size)
    if not args.quiet:
        for name, n in summary["rows"].items():
            print(f"  {name:<17} {n:>12,} rows  {summary['files'][name]:>6,} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
