"""The GX Data Docs site: every suite run rendered as static HTML in one folder.

The runner's results (exact SQL ones and GX-sample ones alike) are turned into GX
validation results, stored in a file-backed GX project under ``<data>/quality/gx``
and rendered to ``<data>/quality/data_docs/index.html``.

Each check stores its result and renders that result's page; the index, which lists every
stored result, is rebuilt once per run (``build_index``: by ``python -m orchestration build`` when
its run ends, and for runs started from the UI or a schedule by the ``data_docs_index`` sensor). GX
reads every stored result to render the index, so rebuilding it in each check made every check pay
for the whole site (0.1 s with 50 results stored, growing with them).

The site keeps the newest ``KEEP_RESULTS`` suite runs. GX lists and parses every stored
result each time it renders the index, so without a bound it got slower with
history (about +0.6 s per 1,000 stored results: minutes per build after a few
months of daily runs with some 45 checks). The complete history stays in
``quality.validation_results``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from .runner import SuiteResult

SITE_NAME = "warehouse_quality"
KEEP_RESULTS = 500  # about ten daily runs of every suite
PRUNE_SLACK = 50  # prune in batches, not on every check once the site is full


def site_dir(data_dir: Path) -> Path:
    return data_dir / "quality" / "data_docs"


def _context(data_dir: Path):
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="file", project_root_dir=str(data_dir / "quality"))
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir(data_dir))},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = ctx.get_config().data_docs_sites or {}
    if SITE_NAME not in sites:
        ctx.add_data_docs_site(site_name=SITE_NAME, site_config=site)
    return ctx


def _gx_result(result: SuiteResult) -> ExpectationSuiteValidationResult:
    items = []
    for r in result.results:
        body = {"observed_value": r.observed_value}
        if r.unexpected_count is not None:
            body["unexpected_count"] = r.unexpected_count
            if r.element_count:
                body["element_count"] = r.element_count
                body["unexpected_percent"] = 100.0 * r.unexpected_count / r.element_count
        meta = {"engine": r.engine, **({"why": r.description} if r.description else {}), **(r.details or {})}
        items.append(ExpectationValidationResult(
            success=r.success,
            expectation_config=ExpectationConfiguration(type=r.expectation_type, kwargs=r.kwargs, meta=meta),
            result=body,
            exception_info={"raised_exception": bool(r.error), "exception_message": r.error,
                            "exception_traceback": None},
        ))
    passed = sum(1 for r in result.results if r.success)
    return ExpectationSuiteValidationResult(
        success=result.success, results=items, suite_name=result.suite,
        statistics={"evaluated_expectations": len(items), "successful_expectations": passed,
                    "unsuccessful_expectations": len(items) - passed,
                    "success_percent": 100.0 * passed / len(items) if items else 100.0},
        meta={"active_batch_definition": {"datasource_name": "warehouse", "data_asset_name": result.table,
                                          "batch_identifiers": {}}},
    )


def index_path(data_dir: Path) -> Path:
    return site_dir(data_dir) / "index.html"


def publish(data_dir: Path, result: SuiteResult, run_id: str) -> Path:
    """Store one suite run and render its page (not the index, see ``build_index``); returns the page.

    The page exists as soon as the check has run; the index lists it once the run has ended."""
    ctx = _context(data_dir)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite),
        run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(timezone.utc)),
        batch_identifier=result.table.replace('"', ""),
    )
    ctx.validation_results_store.set(key, _gx_result(result))
    prune(Path(ctx.validation_results_store.store_backend.full_base_directory), site_dir(data_dir))
    ctx.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[key], build_index=False)
    [page] = ctx.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
    return Path(url2pathname(urlparse(page["site_url"]).path))


def results_dir(data_dir: Path) -> Path:
    """Where GX's file context under ``<data>/quality`` stores the results (read without creating a context)."""
    return data_dir / "quality" / "gx" / "uncommitted" / "validations"


def index_is_stale(data_dir: Path) -> bool:
    """True when a result was stored (or pruned) after the index was last rendered."""
    store = results_dir(data_dir)
    entries = list(store.rglob("*")) if store.is_dir() else []
    index = index_path(data_dir)
    if not index.exists():
        return any(entry.suffix == ".json" for entry in entries)
    # storing or pruning a result changes the time of the folder it is in, so folder times are enough
    rendered = index.stat().st_mtime
    return any(folder.stat().st_mtime > rendered for folder in (store, *entries) if folder.is_dir())


def build_index(data_dir: Path) -> Path:
    """Render the index page from every stored result; returns its path."""
    ctx = _context(data_dir)
    # GX renders the pages of the identifiers it is given (all of them when given none); one that
    # names no stored result leaves every page as it is and renders just the index.
    index_only = [ExpectationSuiteIdentifier(name="index_only")]
    ctx.build_data_docs(site_names=[SITE_NAME], resource_identifiers=index_only, build_index=True)
    return index_path(data_dir)


def refresh_index(data_dir: Path) -> "Path | None":
    """Rebuild the index when a result was stored since it was rendered; the index's path, or None when current."""
    return build_index(data_dir) if index_is_stale(data_dir) else None


def prune(store_dir: Path, site: Path, keep: int | None = None, slack: int | None = None) -> int:
    """Delete the oldest stored results and their pages once more than ``keep + slack`` are stored.

    Works on the files (GX's own key listing is the slow part): results are stored as
    ``<suite parts>/<run name>/<run time>/<table>.json`` and rendered to the same path
    under ``<site>/validations`` as ``.html``; the run time sorts chronologically.
    Returns how many results were deleted.
    """
    keep = KEEP_RESULTS if keep is None else keep
    slack = PRUNE_SLACK if slack is None else slack
    stored = list(store_dir.rglob("*.json"))
    if len(stored) <= keep + slack:
        return 0
    stored.sort(key=lambda f: (f.parent.name, str(f)))
    old = stored[: len(stored) - keep]
    for result in old:
        relative = result.relative_to(store_dir)
        for path, root in ((result, store_dir), (site / "validations" / relative.with_suffix(".html"), site / "validations")):
            path.unlink(missing_ok=True)
            _remove_empty_parents(path.parent, root)
    return len(old)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
