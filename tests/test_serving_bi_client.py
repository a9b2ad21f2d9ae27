"""A BI tool's view of the serving file while the pipeline rebuilds and republishes.

The client is what Superset, Metabase's and Evidence's DuckDB drivers use: SQLAlchemy with
duckdb-engine on a read-only connection.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa
from warehouse_build import DEMO_CUSTOMERS, DEMO_DAYS, PROJECT_ROOT, warehouse_env


def _engine(path):
    return sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})


def _observe(path) -> dict:
    """What a BI tool does on connect: list schemas, tables and columns, then run an aggregate."""
    engine = _engine(path)
    try:
        inspector = sa.inspect(engine)
        # duckdb-engine names schemas "<catalog>.<schema>"; the catalog is the file's stem
        catalog = path.stem
        schemas = sorted(s.split(".", 1)[1] for s in inspector.get_schema_names()
                         if s.startswith(f"{catalog}.") and not s.endswith(".main"))
        tables = {s: sorted(inspector.get_table_names(schema=s)) for s in schemas}
        columns = [c["name"] for c in inspector.get_columns("customer_rfm", schema="marts")]
        with engine.connect() as con:
            counts = {f"{s}.{t}": con.execute(sa.text(f'select count(*) from "{s}"."{t}"')).scalar_one()
                      for s in schemas for t in tables[s]}
            segments = dict(con.execute(sa.text(
                "select rfm_segment, count(*) from marts.customer_rfm group by 1")).all())
            run_id = con.execute(sa.text("select run_id from main.publication")).scalar_one()
    finally:
        engine.dispose()
    return {"schemas": schemas, "tables": tables, "columns": columns, "counts": counts, "segments": segments,
            "run_id": run_id}


_HOLDER = textwrap.dedent("""
    import json, sys
    import sqlalchemy as sa
    engine = sa.create_engine(f"duckdb:///{sys.argv[1]}", connect_args={"read_only": True})
    with engine.connect() as con:
        def look():
            return {"run_id": con.execute(sa.text("select run_id from main.publication")).scalar_one(),
                    "orders": con.execute(sa.text("select count(*) from marts.fct_orders")).scalar_one()}
        print(json.dumps(look()), flush=True)
        sys.stdin.readline()  # hold the connection open until the test has seen a publish
        print(json.dumps(look()), flush=True)
""")


@pytest.mark.slow
def test_bi_client_reads_consistently_while_the_pipeline_republishes(built_warehouse, tmp_path):
    import json

    data_dir = tmp_path / "data"
    shutil.copytree(built_warehouse.data_dir, data_dir, symlinks=True)
    serving_file = data_dir / "serving" / "warehouse.duckdb"
    before = _observe(serving_file)
    # exactly the published schemas: never raw, staging or quality
    assert before["schemas"] in (["marts"], ["marts", "ml"])
    assert "rfm_segment" in before["columns"] and sum(before["segments"].values()) == before["counts"][
        "marts.customer_rfm"]

    # A reader that holds its connection across the publish, as a BI server's connection pool does.
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(serving_file)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    held_before = json.loads(holder.stdout.readline())

    env = {**warehouse_env(data_dir), "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    build = subprocess.Popen([sys.executable, "-m", "orchestration", "build", "--customers", str(DEMO_CUSTOMERS),
                              "--days", str(DEMO_DAYS)], cwd=PROJECT_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    observations, errors = [], []
    deadline = time.monotonic() + 600
    while build.poll() is None and time.monotonic() < deadline:
        try:
            observations.append(_observe(serving_file))
        except Exception as exc:  # a reader must never fail: collect, and fail the test below
            errors.append(repr(exc))
        time.sleep(0.2)
    output = build.communicate(timeout=60)[0]
    assert build.returncode == 0, output[-4000:]

    after = _observe(serving_file)
    assert after["run_id"] != before["run_id"], "the run did not republish"
    assert not errors, errors[:3]
    assert len(observations) >= 5, "the reader did not overlap the run"
    published = {before["run_id"]: before, after["run_id"]: after}
    for seen in observations:
        # each read sees one whole publication, the old or the new one, never a half-built mix
        assert seen["run_id"] in published
        assert seen == published[seen["run_id"]]
    # the rebuild loads nothing new and scores with the models the first build trained, so the data
    # are the same either side of the publish (ml.model_runs, the training history, included)
    assert after["counts"] == before["counts"]
    assert {k: v for k, v in after.items() if k not in ("run_id", "counts")} == {
        k: v for k, v in before.items() if k not in ("run_id", "counts")}

    # The held connection did not stop the publish, and still reads the publication it opened.
    holder.stdin.write("\n")
    holder.stdin.flush()
    held_after = json.loads(holder.stdout.readline())
    holder.wait(timeout=30)
    assert held_after == held_before and held_before["run_id"] == before["run_id"]
