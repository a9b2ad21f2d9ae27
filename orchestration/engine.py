"""Where the Python side reads and writes warehouse tables: DuckDB or Spark, chosen by configuration.

The dbt project already runs on either engine (targets ``dev`` and ``spark``).
The Python assets talk to tables through this small protocol so that moving the
warehouse off one local file does not mean rewriting them:

* ``read_sql(sql)``: a query's result as a pandas DataFrame (model inputs, serving);
* ``write_table(schema, table, frame, column_types)``: replace a table with a frame,
  each column cast to a declared SQL type (ML outputs, whose contract customer_360 reads);
* ``table_exists(schema, table)``.

``WAREHOUSE_ENGINE=duckdb`` (default) keeps today's single DuckDB file;
``WAREHOUSE_ENGINE=spark`` uses a Spark session configured like the dbt ``spark``
target (SPARK_MASTER, SPARK_DIR), so dbt and Python see the same catalog.

The raw layer both engines build from is Parquet, one folder per raw table
(``<raw_dir>/<table>/*.parquet``): ``export_raw_parquet`` writes it from the
ingested DuckDB tables and the dbt macro ``register_raw_parquet`` attaches it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable

import duckdb
import pandas as pd


@runtime_checkable
class WarehouseEngine(Protocol):
    name: str

    def read_sql(self, sql: str) -> pd.DataFrame: ...

    def write_table(self, schema: str, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> int: ...

    def table_exists(self, schema: str, table: str) -> bool: ...


def _check_columns(schema: str, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
    missing = set(column_types) - set(frame.columns)
    if missing:
        raise KeyError(f"{schema}.{table}: frame lacks column(s) {sorted(missing)}; has {list(frame.columns)}")


def _select_list(column_types: dict[str, str], quote: str) -> str:
    return ", ".join(f"cast({quote}{c}{quote} as {t}) as {quote}{c}{quote}" for c, t in column_types.items())


class DuckDBEngine:
    """Today's warehouse: one DuckDB file, one writer at a time (the pool in deploy/dagster.yaml)."""

    name = "duckdb"

    def __init__(self, database: str | Path):
        self.database = str(database)

    @contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(self.database, read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def read_sql(self, sql: str) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            return con.execute(sql).df()

    def write_table(self, schema: str, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> int:
        _check_columns(schema, table, frame, column_types)
        view = f"_frame_{schema}_{table}"
        with self._connect() as con:
            con.register(view, frame)
            try:
                # One transaction: readers see the old rows or the new ones, never a mix.
                con.execute("begin transaction")
                con.execute(f"create schema if not exists {schema}")
                con.execute(f"create or replace table {schema}.{table} as "
                            f"select {_select_list(column_types, chr(34))} from {view}")
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise
            finally:
                con.unregister(view)
        return len(frame)

    def table_exists(self, schema: str, table: str) -> bool:
        if not Path(self.database).exists():  # read-only mode cannot open a file that is not there yet
            return False
        with self._connect(read_only=True) as con:
            return con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()[0] > 0


# The session settings the dbt `spark` target passes (dbt_project/profiles.yml), so Python and dbt share a catalog.
def spark_session_conf(spark_dir: str | Path, master: str | None = None) -> dict[str, str]:
    spark_dir = str(spark_dir)
    return {
        "spark.master": master or os.environ.get("SPARK_MASTER", "local[2]"),
        "spark.sql.warehouse.dir": f"{spark_dir}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.ui.enabled": "false",
        # dbt-spark turns ANSI mode off; the same semantics for Python's SQL.
        "spark.sql.ansi.enabled": "false",
    }


class SparkEngine:
    """Tables in a Spark catalog (Hive metastore locally; Glue/Unity/HMS on a cluster)."""

    name = "spark"

    def __init__(self, spark_dir: str | Path | None = None, session=None, master: str | None = None):
        self._session = session
        self.spark_dir = Path(spark_dir) if spark_dir else None
        self.master = master

    @property
    def session(self):
        if self._session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.enableHiveSupport()
            for key, value in spark_session_conf(self.spark_dir or Path("data/spark"), self.master).items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
        return self._session

    def read_sql(self, sql: str) -> pd.DataFrame:
        # Through Arrow the column types survive (decimals, timestamps, nullable integers).
        return self.session.sql(sql).toArrow().to_pandas()

    def write_table(self, schema: str, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> int:
        _check_columns(schema, table, frame, column_types)
        spark = self.session
        view = f"_frame_{schema}_{table}"
        import pyarrow as pa

        # Arrow, not pandas inference: an all-null column still gets a type to cast from.
        spark.createDataFrame(pa.Table.from_pandas(frame[list(column_types)], preserve_index=False)) \
            .createOrReplaceTempView(view)
        try:
            spark.sql(f"create database if not exists {schema}")
            # A plain Parquet table has no transactions: write beside, then swap, so a failed write keeps the old table.
            staged = f"{schema}.{table}__staging"
            spark.sql(f"drop table if exists {staged}")
            spark.sql(f"create table {staged} using parquet as select {_select_list(column_types, '`')} from {view}")
            spark.sql(f"drop table if exists {schema}.{table}")
            spark.sql(f"alter table {staged} rename to {schema}.{table}")
        finally:
            spark.catalog.dropTempView(view)
        return len(frame)

    def table_exists(self, schema: str, table: str) -> bool:
        return self.session.catalog.tableExists(f"{schema}.{table}")


def engine_from_env(duckdb_database: str | Path, data_dir: str | Path) -> WarehouseEngine:
    """WAREHOUSE_ENGINE selects the implementation; the default is the DuckDB file of Settings."""
    kind = os.environ.get("WAREHOUSE_ENGINE", "duckdb").lower()
    if kind == "duckdb":
        return DuckDBEngine(duckdb_database)
    if kind == "spark":
        return SparkEngine(os.environ.get("SPARK_DIR") or Path(data_dir) / "spark")
    raise ValueError(f"WAREHOUSE_ENGINE must be duckdb or spark, got {kind!r}")


def export_raw_parquet(con: duckdb.DuckDBPyConnection, raw_dir: str | Path, tables: list[str]) -> dict[str, int]:
    """Write ``raw.<table>`` as ``<raw_dir>/<table>/part-0.parquet``: the raw layout both engines read.

    The pseudonym map (``staging.customer_pseudonyms``, which every staging model joins) goes along
    as ``<raw_dir>/customer_pseudonyms/``: dbt reads it as a source like the raw tables.
    Rows are ordered by their load metadata so the same raw tables give the same files.
    """
    raw_dir = Path(raw_dir)
    counts = {}
    relations = {table: (f"raw.{table}", "_source_file, _source_row") for table in tables}
    has_map = con.execute("select count(*) from duckdb_tables() where schema_name = 'staging' "
                          "and table_name = 'customer_pseudonyms'").fetchone()[0]
    if has_map:
        relations["customer_pseudonyms"] = ("staging.customer_pseudonyms", "customer_id")
    for name, (relation, order) in relations.items():
        folder = raw_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        target = str(folder / "part-0.parquet").replace("'", "''")
        con.execute(f"copy (select * from {relation} order by {order}) to '{target}' (format parquet)")
        counts[name] = con.execute(f"select count(*) from {relation}").fetchone()[0]
    return counts
