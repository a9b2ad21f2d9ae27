"""Demo data per scale and seed, generated once and reused; a fresh run directory per run.

The cached landing zone is never handed to the pipeline itself: ingest moves rejected
files aside, which would change the cache. Each run gets a tree of hard links instead
(free in time and disk, and a rename inside it leaves the cache untouched).
The last delivery day is held back out of the run's landing zone so that, once an
incremental path exists, the daily run has a real new day to load.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench.scales import Scale

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_ROOT = BENCH_DIR / "data"
END_DATE = "2026-10-31"


def cache_dir(root: Path, scale: Scale, seed: int) -> Path:
    return root / f"{scale.customers}x{scale.days}-seed{seed}"


def is_cached(cache: Path) -> bool:
    return (cache / "generated.json").exists()


def generate_into(cache: Path, scale: Scale, seed: int) -> None:
    """Called in the measured child process (see bench.generate_stage)."""
    from landing.generate import generate

    for sub in ("landing", "truth", "generated.json"):
        target = cache / sub
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    summary = generate(out_dir=cache / "landing", truth_dir=cache / "truth", customers=scale.customers,
                       days=scale.days, end_date=END_DATE, seed=seed, progress=None)
    (cache / "generated.json").write_text(json.dumps({"customers": scale.customers, "days": scale.days,
                                                      "seed": seed, "summary": summary}, default=str))


def delivery_days(landing: Path) -> list[str]:
    return sorted({d.name for src in landing.iterdir() if src.is_dir() for d in src.iterdir() if d.is_dir()})


def prepare_run(cache: Path, run_dir: Path, hold_back_last_day: bool = True) -> dict:
    """A fresh run directory: landing (hard links, last day held back) and the instance config `make run`
    installs (the single-writer pool, telemetry off), nothing else."""
    _fresh_run_dir(run_dir)
    landing, held = run_dir / "landing", run_dir / "held_back"
    days = delivery_days(cache / "landing")
    last = days[-1] if hold_back_last_day and len(days) > 1 else None
    for src in sorted((cache / "landing").iterdir()):
        if not src.is_dir():
            continue
        for day in src.iterdir():
            target = (held if day.name == last else landing) / src.name / day.name
            target.mkdir(parents=True, exist_ok=True)
            for f in day.iterdir():
                os.link(f, target / f.name)
    return {"landing": str(landing), "held_back_day": last, "delivery_days": len(days) - (1 if last else 0)}


def prepare_run_on(landing: Path, run_dir: Path) -> None:
    """A fresh run directory over the files of another run's landing zone, as they are now (hard links)."""
    _fresh_run_dir(run_dir)
    for f in sorted(p for p in landing.rglob("*") if p.is_file()):
        target = run_dir / "landing" / f.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)


def _fresh_run_dir(run_dir: Path) -> None:
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "dagster_home").mkdir(parents=True)
    shutil.copy(BENCH_DIR.parent / "deploy" / "dagster.yaml", run_dir / "dagster_home" / "dagster.yaml")


def copy_run_dir(run_dir: Path, dest: Path) -> None:
    """A copy of a run directory to re-run its next step on later (``python -m bench daily``).

    The landing files and the held-back day are hard links, like the run's own; the warehouse, the
    Dagster instance and the rest are copied, since the next run writes them.
    """
    shutil.rmtree(dest, ignore_errors=True)
    linked = {"landing", "held_back"}
    shutil.copytree(run_dir, dest, symlinks=True,
                    ignore=lambda folder, names: linked & set(names) if Path(folder) == run_dir else set())
    for name in linked & {p.name for p in run_dir.iterdir()}:
        shutil.copytree(run_dir / name, dest / name, copy_function=os.link)


def release_held_back(run_dir: Path) -> None:
    """Deliver the held-back day into the landing zone (the daily run's new files)."""
    held = run_dir / "held_back"
    for src in held.iterdir():
        for day in src.iterdir():
            shutil.move(str(day), str(run_dir / "landing" / src.name / day.name))


def du_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_env(run_dir: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "DATA_DIR": str(run_dir), "LANDING_DIR": str(run_dir / "landing"),
        "DUCKDB_DATABASE": str(run_dir / "warehouse.duckdb"), "DAGSTER_HOME": str(run_dir / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(BENCH_DIR.parent),
    })
    for key in ("SERVING_DIR", "EXPORTS_DIR", "REJECTED_FILES_DIR", "TRUTH_DIR"):
        env.pop(key, None)  # derived from DATA_DIR, so nothing escapes the run directory
    return env
