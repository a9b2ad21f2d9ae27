"""Building a small demo warehouse through the real command line, for the tests."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.defs.privacy.pseudonyms import refresh_pseudonyms
from orchestration.secret_keys import PseudonymKey

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUIET = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false",
         "DAGSTER_DISABLE_TELEMETRY": "true"}

# A fixed pseudonym key, so every test build gives the same customer_key to the same customer
# (and row orders, model fits and checksums repeat). Never a production key.
TEST_PSEUDONYM_KEY = "test-only-pseudonym-key-0123456789abcdef"

# Small enough to build in well under a minute, large enough that every source has dirt.
DEMO_CUSTOMERS = 400
DEMO_DAYS = 90


@dataclass
class BuiltWarehouse:
    data_dir: Path
    env: dict
    build_output: str
    temp_left_behind: list[str]  # what the build left in its own temp folder (TMPDIR)

    @classmethod
    def after_build(cls, data_dir: Path, env: dict, build_output: str) -> "BuiltWarehouse":
        left = sorted(p.name for p in temp_dir_for(data_dir).iterdir())
        return cls(data_dir=data_dir, env=env, build_output=build_output, temp_left_behind=left)

    @property
    def database(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "truth"

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.database), read_only=True)

    def query(self, sql: str, params=None):
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()

    def df(self, sql: str):
        with self.connect() as con:
            return con.execute(sql).df()

    def customers_truth(self):
        """The generator's planted truth per customer, with the customer_key the marts know them by."""
        import pandas as pd

        from orchestration.defs.privacy.pseudonyms import customer_key

        truth = pd.read_parquet(self.truth_dir / "customers_truth.parquet")
        key = fixed_pseudonym_key()
        truth["customer_key"] = [customer_key(key, c) for c in truth["customer_id"]]
        return truth


def fixed_pseudonym_key() -> PseudonymKey:
    return PseudonymKey(TEST_PSEUDONYM_KEY.encode("utf-8"))


def add_pseudonym_map(database: Path) -> None:
    """What the Dagster asset staging/customer_pseudonyms does before dbt: for tests that run dbt alone."""
    with duckdb.connect(str(database)) as con:
        refresh_pseudonyms(con, fixed_pseudonym_key())


def with_customer_id(relation: str) -> str:
    """SQL: a published table keyed by customer_key, with the CRM id joined back from restricted staging
    (what a test needs to compare the marts with values computed from the landing files)."""
    return (f"select pseudonyms.customer_id, published.* from {relation} as published "
            "left join staging.customer_pseudonyms as pseudonyms using (customer_key)")


def temp_dir_for(data_dir: Path) -> Path:
    """A temp folder of the warehouse's own, so a test can see what its processes leave behind.

    Short, directly under the system temp folder: Chromium (the report's PDF) puts a Unix socket in it,
    and socket paths are limited to 107 bytes, which a folder beside a pytest tmp_path exceeds.
    """
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"wh-{digest}"


# Every temp folder handed out this session; conftest removes the empty ones at the end.
TEMP_DIRS_MADE: set[Path] = set()


def warehouse_env(data_dir: Path) -> dict:
    temp = temp_dir_for(data_dir)
    temp.mkdir(parents=True, exist_ok=True)
    TEMP_DIRS_MADE.add(temp)
    env = {**os.environ, **QUIET, "DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home"),
           "WAREHOUSE_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY, "TMPDIR": str(temp)}
    env.pop("DUCKDB_DATABASE", None)
    env.pop("LANDING_DIR", None)
    return env


def run_build(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = warehouse_env(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "orchestration", "build", "--customers", str(DEMO_CUSTOMERS), "--days", str(DEMO_DAYS),
         *extra],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )


# Columns that record when or in which run something happened, not what the data is.
_RUN_COLUMNS = re.compile(r"^(_batch_id|_loaded_at|source_loaded_at|_quarantined_at|dbt_\w+)$")
# The incremental models' build stamp: a partition's run rewrites that partition's rows by design (and its
# dbt tests and suites then read them), so it differs after any re-run and is never compared.
_BUILD_STAMP = "_built_at"
# Tables compared by content; every other marts/ml table by row count.
_CONTENT_TABLES = ("raw.*", "marts.fct_orders", "marts.fct_order_items", "marts.fct_sessions", "marts.customer_rfm",
                   "marts.dim_customers", "marts.kpi_daily", "marts.fct_support_tickets", "marts.fct_survey_responses")


def warehouse_state(database: Path, with_run_columns: bool = False) -> dict[str, tuple]:
    """Row count (and an order-independent content checksum for raw and the key marts) of every table.

    Columns saying when or in which run a row was loaded are left out unless ``with_run_columns``
    (a re-run that loads nothing must not even touch them); the build stamp ``_built_at`` always is.
    """
    state = {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and table_schema in ('raw', 'marts', 'ml') order by 1, 2").fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            if name in _CONTENT_TABLES or (schema == "raw" and "raw.*" in _CONTENT_TABLES):
                cols = [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position", [schema, table]).fetchall()
                        if r[0] != _BUILD_STAMP and (with_run_columns or not _RUN_COLUMNS.match(r[0]))]
                rows = con.execute(f'select {", ".join(chr(34) + c + chr(34) for c in cols)} from "{schema}"."{table}"').fetchall()
                digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
                state[name] = (count, digest)
            else:
                state[name] = (count,)
        # the ledger: every landed file loaded exactly once
        state["quality.ingest_files"] = tuple(con.execute(
            "select source, count(*), count(distinct source_file), sum(rows_loaded), sum(rows_quarantined) "
            "from quality.ingest_files where status = 'loaded' group by 1 order by 1").fetchall())
    return state
