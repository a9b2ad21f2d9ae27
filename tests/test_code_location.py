"""The Dagster code location loads cleanly and shows the whole lineage."""

from __future__ import annotations

import subprocess
import sys

from conftest import PROJECT_ROOT, QUIET, warehouse_env

import dagster as dg


def test_definitions_validate_without_deprecation_warnings(tmp_path):
    env = warehouse_env(tmp_path / "data")
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-m", "dagster", "definitions", "validate",
         "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env={**env, **QUIET}, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Validation successful" in output
    for marker in ("deprecat", "Deprecat", "superseded"):
        assert marker not in output, output


def _ancestors(graph, key):
    seen, stack = set(), [key]
    while stack:
        for parent in graph.get(stack.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def test_lineage_runs_from_landing_sources_to_marts():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for source in ("customers", "orders", "order_items", "web_events", "privacy_requests"):
        assert f"raw/{source}" in keys
    for mart in ("dim_customers", "dim_products", "fct_orders", "fct_order_items", "customer_rfm"):
        assert f"marts/{mart}" in keys
    # customer_rfm is reachable upstream all the way from the ingest of orders
    assert dg.AssetKey(["raw", "orders"]) in _ancestors(graph, dg.AssetKey(["marts", "customer_rfm"]))
    materializable = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert "raw/orders" in materializable and "marts/customer_rfm" in materializable
    # dbt tests are asset checks on the models they test
    checks = {c.asset_key.to_user_string() for c in graph.asset_check_keys}
    assert "marts/customer_rfm" in checks
