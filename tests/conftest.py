"""Shared fixtures: one small demo warehouse built through the real command line, once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from warehouse_build import TEMP_DIRS_MADE, BuiltWarehouse, run_build, warehouse_env


def pytest_sessionfinish(session, exitstatus):
    # Empty ones only: anything a build left behind stays for whoever investigates a failure.
    for temp in TEMP_DIRS_MADE:
        if temp.is_dir() and not any(temp.iterdir()):
            temp.rmdir()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    data_dir = tmp_path_factory.mktemp("warehouse") / "data"
    proc = run_build(data_dir)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`python -m orchestration build` failed:\n{output[-6000:]}"
    return BuiltWarehouse.after_build(data_dir, warehouse_env(data_dir), output)


@pytest.fixture()
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    """A writable copy of the session's demo warehouse and its landing zone (``<tmp>/data``)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copytree(built_warehouse.landing_dir, data_dir / "landing")
    shutil.copy2(built_warehouse.database, data_dir / "warehouse.duckdb")
    return data_dir
