"""deploy/dagster.postgres.yaml against a real PostgreSQL server started for the test."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from warehouse_build import PROJECT_ROOT

import dagster as dg
from dagster_duckdb import DuckDBResource


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; CI runs as root, a developer usually does not.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres():
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs Debian's postgresql)")
    # Outside pytest's tmp dir: that one is private to root and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="warehouse-pg-", dir="/tmp"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    data, port = root / "data", _free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust",
                                 "--encoding=UTF8", "--no-instructions"]), check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                                 "-w", "start"]), check=True, capture_output=True)
    try:
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dagster", "dagster"],
                       check=True, capture_output=True)
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USER": "dagster",
               "DAGSTER_PG_PASSWORD": "unused-with-trust-auth", "DAGSTER_PG_DB": "dagster"}
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_runs_and_materializations_are_stored_in_postgres(postgres, tmp_path, monkeypatch):
    import psycopg2

    from landing.generate import generate
    from orchestration.defs.ingest.assets import ingest_assets

    for key, value in postgres.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    generate(out_dir=tmp_path / "landing", truth_dir=tmp_path / "truth", customers=30, days=3, seed=7)

    products = next(a for a in ingest_assets if a.key == dg.AssetKey(["raw", "products"]))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result = dg.materialize([products], instance=instance,
                                resources={"warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb"))})
        assert result.success
        run_id = result.run_id

    # A second instance (another webserver, the daemon) reads the same history back.
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "products"]))
        assert event.run_id == run_id
        assert event.asset_materialization.metadata["rows_loaded"].value > 0

    # ...because it is in PostgreSQL, not in a SQLite file under DAGSTER_HOME.
    assert not list(home.rglob("*.db"))
    with psycopg2.connect(host="127.0.0.1", port=postgres["DAGSTER_PG_PORT"], user="dagster", dbname="dagster") as con:
        with con.cursor() as cur:
            cur.execute("select status from runs where run_id = %s", (run_id,))
            assert cur.fetchone() == ("SUCCESS",)
