"""Shared fixtures: one small demo warehouse built through the real command line, once per session."""

from __future__ import annotations

import pytest
from warehouse_build import BuiltWarehouse, run_build, warehouse_env


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    data_dir = tmp_path_factory.mktemp("warehouse") / "data"
    proc = run_build(data_dir)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`python -m orchestration build` failed:\n{output[-6000:]}"
    return BuiltWarehouse.after_build(data_dir, warehouse_env(data_dir), output)
