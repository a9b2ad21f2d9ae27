"""The pipeline's stages as Dagster selections, read off the definitions (never listed by hand).

A stage is present when its selection is non-empty, so the ML and report stages are picked
up the day their asset groups appear. The expectation-suite checks form one "checks" stage
run in parts, each right after the assets it validates, because a mart suite cannot run
before dbt has built the mart; the part timings are summed and the peak is the max.
"""

from __future__ import annotations

import operator
from functools import reduce

import dagster as dg

from bench.report import DAILY_STAGES, PIPELINE_STAGES

STAGES = ["generate", "ingest", "checks", "privacy", "dbt", "ml", "publish", "report"]

# Pipeline order: (stage, part). Each part is one process.
# The dbt models that read model outputs (customer_360, segment_breakdowns) are built in a second dbt
# part after ML, as the job does (Dagster splits the dbt op around the ML steps).
PARTS = [("ingest", "ingest"), ("checks", "checks:ingest"), ("privacy", "privacy"), ("dbt", "dbt"),
         ("checks", "checks:dbt"), ("ml", "ml"), ("checks", "checks:ml"), ("dbt", "dbt-after-ml"),
         ("checks", "checks:dbt-after-ml"), ("publish", "publish"), ("report", "report")]
_DBT_PARTS = ("dbt", "dbt-after-ml")
# Not a stage's part: every part of the stages the daily comparison covers, as one Dagster run in one
# process, which is how the daily schedule runs them (bench/incremental.py).
ONE_RUN = "pipeline"
# Not a stage's part either: the like-for-like side of the SQL floor comparison. The floor (bench/sql) loads
# every source and builds these tables; this part runs every source's ingest and suites, the privacy steps and
# the dbt models these tables are made of, with their tests and suites, in one run and one process.
FLOOR_SCOPE = "floor-scope"
FLOOR_TABLES = ("marts/fct_orders", "marts/fct_order_items", "marts/dim_customers", "marts/dim_products",
                "marts/customer_rfm", "marts/fct_sessions", "staging/stg_web__events",
                "staging/stg_helpdesk__support_tickets", "staging/stg_survey__responses",
                "staging/stg_social__mentions", "staging/stg_marketing__campaign_events")

# The privacy group has steps on both sides of dbt: retention, erasures and the pseudonym map run
# before it (staging joins the map); access exports read what was published, so they go with publish.
_GROUPS = {"ingest": ["ingest"], "privacy": ["privacy"], "ml": ["ml"], "publish": ["serving", "privacy"],
           "report": ["report"]}
_PUBLISHED_FROM = "serving"


def _suite_checks(defs: dg.Definitions):
    from orchestration.defs.quality.checks import quality_checks

    return [key for c in quality_checks for key in c.check_keys]


def _dbt_assets(defs: dg.Definitions) -> list[dg.AssetsDefinition]:
    return [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and "dbt" in _kinds(a)]


def _kinds(assets_def: dg.AssetsDefinition) -> set[str]:
    return {k for spec in assets_def.specs for k in spec.kinds}


def selection(defs: dg.Definitions, part: str) -> dg.AssetSelection | None:
    """The selection of one part, or None when the definitions have nothing for it."""
    if part == ONE_RUN:
        chosen = [selection(defs, p) for stage, p in PARTS if stage in DAILY_STAGES]
        chosen = [c for c in chosen if c is not None]
        return reduce(operator.or_, chosen) if chosen else None
    graph = defs.resolve_asset_graph()
    if part == FLOOR_SCOPE:
        return _floor_scope(defs, graph)
    suites = set(_suite_checks(defs))
    if part in _DBT_PARTS:
        keys = _part_asset_keys(defs, part)
        if not keys:
            return None
        # dbt tests are asset checks of the dbt op; they run inside `dbt build`, so they stay in this stage.
        own_checks = [k for a in _dbt_assets(defs) for k in a.check_keys if k not in suites and k.asset_key in keys]
        return dg.AssetSelection.assets(*keys).without_checks() | dg.AssetSelection.checks(*own_checks)
    if part.startswith("checks:"):
        after = part.split(":", 1)[1]
        upstream = _part_asset_keys(defs, after)
        keys = [k for k in suites if k.asset_key in upstream]
        return dg.AssetSelection.checks(*keys) if keys else None
    keys = {k for k in _part_asset_keys(defs, part) if graph.get(k).is_materializable}
    if not keys:
        return None
    checks = [k for k in graph.asset_check_keys if k.asset_key in keys and k not in suites]
    return dg.AssetSelection.assets(*keys).without_checks() | dg.AssetSelection.checks(*checks)


def _floor_scope(defs: dg.Definitions, graph) -> dg.AssetSelection:
    """What the pipeline's ingest, checks, privacy and dbt parts do for the floor's tables, and nothing else."""
    parts = [selection(defs, p) for stage, p in PARTS if stage in PIPELINE_STAGES]
    whole = reduce(operator.or_, [p for p in parts if p is not None])
    tables = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(t) for t in FLOOR_TABLES))
    needed = tables.upstream().resolve(graph) | _part_asset_keys(defs, "ingest")
    assets = [k for k in whole.resolve(graph) if k in needed]
    checks = [k for k in whole.resolve_checks(graph) if k.asset_key in needed]
    return dg.AssetSelection.assets(*assets).without_checks() | dg.AssetSelection.checks(*checks)


def _part_asset_keys(defs: dg.Definitions, part: str) -> set:
    graph = defs.resolve_asset_graph()

    def from_group_on(group: str) -> set:  # the group and everything downstream of it
        return dg.AssetSelection.groups(group).downstream().resolve(graph)

    if part in _DBT_PARTS:
        dbt = {k for a in _dbt_assets(defs) for k in a.keys}
        after_ml = dbt & from_group_on("ml")
        return dbt - after_ml if part == "dbt" else after_ml
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name in _GROUPS[part]}
    if part == "privacy":
        return keys - from_group_on(_PUBLISHED_FROM)
    if part == "publish":
        return keys & from_group_on(_PUBLISHED_FROM)
    return keys


def unassigned_groups(defs: dg.Definitions) -> list[str]:
    """Asset groups no stage covers: a new domain the harness should be told about."""
    graph = defs.resolve_asset_graph()
    dbt_keys = {k for a in _dbt_assets(defs) for k in a.keys}
    known = {g for groups in _GROUPS.values() for g in groups}
    return sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()
                   if graph.get(k).is_materializable and k not in dbt_keys and graph.get(k).group_name not in known})
