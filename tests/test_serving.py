"""The published serving warehouse: what it holds, who can open it, and when it is not published."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import dagster as dg
from dagster_duckdb import DuckDBResource
from orchestration.defs.serving.assets import SNAPSHOT_KEY, build_serving_asset
from orchestration.defs.serving.publish import STORAGE_VERSION

OLD_DUCKDB = "1.1.3"  # a 1.x release of the kind BI tools bundle
OLD_DUCKDB_VENV = Path("/tmp/customer-warehouse-test-cache") / f"duckdb-{OLD_DUCKDB}"


def _tables(con) -> dict[str, int]:
    names = con.execute("select schema_name, table_name from duckdb_tables() where schema_name <> 'main'").fetchall()
    return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in names}


@pytest.fixture(scope="module")
def serving(built_warehouse):
    return built_warehouse.data_dir / "serving"


def test_serving_file_holds_exactly_the_published_schemas(built_warehouse, serving):
    with duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True) as con:
        published = _tables(con)
        (run_id, storage_version, count), = con.execute(
            "select run_id, storage_version, table_count from main.publication").fetchall()
    with built_warehouse.connect() as con:
        expected = {k: v for k, v in _tables(con).items() if k.split(".")[0] in ("marts", "ml")}
    assert published == expected
    assert "marts.customer_rfm" in published and "marts.dim_customers" in published
    assert not [t for t in published if t.split(".")[0] in ("raw", "staging", "intermediate", "quality")]
    assert storage_version == STORAGE_VERSION and count == len(published) and run_id
    # published read-only at the file-system level, and nothing of the write-aside left behind
    assert (serving / "warehouse.duckdb").stat().st_mode & 0o222 == 0
    assert not list(serving.glob("*.tmp-*")) and not (serving / "warehouse.duckdb.wal").exists()


def test_a_read_only_connection_cannot_write(serving):
    with duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True) as con:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table marts.scribble as select 1")


def test_parquet_exports_mirror_the_serving_file(serving):
    with duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True) as con:
        published = _tables(con)
    parquet = serving / "parquet"
    files = {f"{p.parent.name}.{p.stem}": pq.ParquetFile(p).metadata.num_rows for p in parquet.glob("*/*.parquet")}
    assert files == published
    # the folder is swapped by renaming a link, so it always names one complete publication
    assert parquet.is_symlink()


def _old_duckdb_python() -> Path:
    python = OLD_DUCKDB_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(OLD_DUCKDB_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"duckdb=={OLD_DUCKDB}"], check=True,
                       timeout=600)
    return python


_READ_WITH_OLD = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    names = con.execute("select schema_name, table_name from duckdb_tables() where schema_name <> 'main'").fetchall()
    print(json.dumps({"version": duckdb.__version__,
                      "tables": {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
                                 for s, t in names}}))
""")


@pytest.mark.slow
def test_an_older_duckdb_client_opens_the_serving_file(serving, tmp_path):
    python = _old_duckdb_python()
    proc = subprocess.run([str(python), "-c", _READ_WITH_OLD, str(serving / "warehouse.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["version"] == OLD_DUCKDB
    with duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True) as con:
        assert seen["tables"] == _tables(con)

    # The control: a file in DuckDB 2.0's own format is refused by the same client.
    modern = tmp_path / "modern.duckdb"
    with duckdb.connect(str(modern)) as con:
        con.execute("create table t as select 1 as a")
    proc = subprocess.run([str(python), "-c", _READ_WITH_OLD, str(modern)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0


def _gated_mart(passes: bool) -> dg.AssetsDefinition:
    @dg.asset(key=["marts", "kpi"], group_name="marts",
              check_specs=[dg.AssetCheckSpec("kpi_is_positive", asset=["marts", "kpi"], blocking=True)])
    def kpi(warehouse: DuckDBResource):
        with warehouse.get_connection() as con:
            con.execute("create schema if not exists marts")
            con.execute("create or replace table marts.kpi as select 1 as value")
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=passes)])

    return kpi


def test_snapshot_waits_for_blocking_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVING_DIR", str(tmp_path / "serving"))
    resources = {"warehouse": DuckDBResource(database=str(tmp_path / "build.duckdb"))}
    instance = dg.DagsterInstance.ephemeral()
    published = tmp_path / "serving" / "warehouse.duckdb"

    failing = _gated_mart(passes=False)
    snapshot = build_serving_asset([failing])
    assert snapshot.asset_deps[SNAPSHOT_KEY] == {dg.AssetKey(["marts", "kpi"])}
    result = dg.materialize([failing, snapshot], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    assert SNAPSHOT_KEY not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert not published.exists()

    # Materialized on its own afterwards, the snapshot still refuses while the gate's last result is a failure.
    result = dg.materialize([failing, snapshot], selection=[SNAPSHOT_KEY], resources=resources, instance=instance,
                            raise_on_error=False)
    assert not result.success and not published.exists()
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "marts/kpi:kpi_is_positive" in str(failure.step_failure_data.user_failure_data or
                                              failure.step_failure_data.error.message)

    passing = _gated_mart(passes=True)
    result = dg.materialize([passing, build_serving_asset([passing])], resources=resources, instance=instance)
    assert result.success and published.exists()
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select value from marts.kpi").fetchall() == [(1,)]
