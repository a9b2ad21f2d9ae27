"""The DuckDB side of orchestration.engine, quickly; the Spark side runs in tests/test_spark_build.py."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.engine import DuckDBEngine, SparkEngine, WarehouseEngine, engine_from_env, export_raw_parquet


def test_duckdb_engine_writes_typed_tables_and_reads_them_back(tmp_path):
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    assert isinstance(engine, WarehouseEngine)
    assert not engine.table_exists("ml", "scores")
    # An all-null column has no type pandas can infer; the declared one wins.
    frame = pd.DataFrame({"customer_id": ["C2", "C1"], "score": [0.5, 0.25], "note": [None, None]})
    assert engine.write_table("ml", "scores", frame, {"customer_id": "varchar", "score": "double", "note": "varchar"}) == 2
    assert engine.table_exists("ml", "scores")
    types = engine.read_sql("select column_name, data_type from information_schema.columns "
                            "where table_name = 'scores' order by ordinal_position")
    assert types["data_type"].tolist() == ["VARCHAR", "DOUBLE", "VARCHAR"]
    back = engine.read_sql("select * from ml.scores order by customer_id")
    assert back["customer_id"].tolist() == ["C1", "C2"] and back["note"].isna().all()


def test_duckdb_engine_keeps_the_old_table_when_a_write_fails(tmp_path):
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.write_table("ml", "scores", pd.DataFrame({"score": [1.0]}), {"score": "double"})
    with pytest.raises(duckdb.Error):
        engine.write_table("ml", "scores", pd.DataFrame({"score": ["not a number"]}), {"score": "double"})
    assert engine.read_sql("select score from ml.scores")["score"].tolist() == [1.0]
    with pytest.raises(KeyError):
        engine.write_table("ml", "scores", pd.DataFrame({"other": [1]}), {"score": "double"})


def test_engine_is_chosen_by_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_ENGINE", raising=False)
    assert isinstance(engine_from_env(tmp_path / "w.duckdb", tmp_path), DuckDBEngine)
    monkeypatch.setenv("WAREHOUSE_ENGINE", "spark")
    monkeypatch.setenv("SPARK_DIR", str(tmp_path / "spark"))
    spark = engine_from_env(tmp_path / "w.duckdb", tmp_path)
    # Nothing starts until the engine is used: choosing Spark costs no JVM.
    assert isinstance(spark, SparkEngine) and spark._session is None
    assert spark.spark_dir == tmp_path / "spark"
    monkeypatch.setenv("WAREHOUSE_ENGINE", "oracle")
    with pytest.raises(ValueError):
        engine_from_env(tmp_path / "w.duckdb", tmp_path)


def test_raw_export_writes_one_folder_per_table_that_duckdb_reads_back(tmp_path):
    con = duckdb.connect(str(tmp_path / "ingest.duckdb"))
    con.execute("create schema raw")
    con.execute("create table raw.orders as select * from (values ('O2', 'b/2.csv', 1), ('O1', 'a/1.csv', 2)) "
                "as t(order_id, _source_file, _source_row)")
    assert export_raw_parquet(con, tmp_path / "raw", ["orders"]) == {"orders": 2}
    # A second export replaces the files instead of adding to them.
    export_raw_parquet(con, tmp_path / "raw", ["orders"])
    assert [p.name for p in (tmp_path / "raw" / "orders").iterdir()] == ["part-0.parquet"]
    rows = duckdb.sql(f"select order_id from read_parquet('{tmp_path}/raw/orders/*.parquet')").fetchall()
    assert rows == [("O1",), ("O2",)]  # ordered by load metadata, so the same raw gives the same file
    con.close()
