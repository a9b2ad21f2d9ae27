import duckdb
import pandas as pd
import pytest

from ml.features import FeatureSources, customer_features, customer_features_in


def test_point_in_time_features_on_a_tiny_history():
    orders = pd.DataFrame(
        {
            "customer_key": ["a", "a", "a", "b", "c"],
            "order_id": ["1", "2", "3", "4", "5"],
            "order_date": ["2024-01-01", "2024-02-01", "2024-02-15", "2024-01-15", "2024-03-05"],
            "net_revenue": [10.0, 20.0, 99.0, 5.0, 7.0],
            "discount_amount": [0.0, 5.0, 0.0, 0.0, 0.0],
            "channel": ["web", "app", "web", "store", "web"],
            "status": ["completed", "returned", "cancelled", "completed", "completed"],
        }
    )
    items = pd.DataFrame(
        {"order_id": ["1", "1", "2", "3", "4"], "category": ["Books", "Toys", "Books", "Toys", "家居"],
         "quantity": [1, 2, 1, 9, 1], "unit_price": [5.0, 2.5, 20.0, 11.0, 5.0]}
    )
    activity = pd.DataFrame({"customer_key": ["a", "b", "a"], "event_time": ["2024-02-20", "2024-02-25", "2024-03-02"],
                             "activity_type": ["session", "ticket", "session"]})
    f = customer_features(orders, "2024-03-01", items, activity, customers=["a", "b", "d"]).set_index("customer_key")

    assert list(f.index) == ["a", "b", "d"]  # c only buys after the cutoff; d never bought
    a = f.loc["a"]
    assert a["frequency"] == 2 and a["monetary"] == 30.0  # the cancelled order is not a purchase
    assert a["recency_days"] == 29 and a["tenure_days"] == 60
    assert a["discount_share"] == pytest.approx(5 / 35)
    assert a["return_rate"] == 0.5
    assert a["channel_share_app"] == pytest.approx(20 / 30)
    assert a["cat_share_books"] == pytest.approx(25 / 30)  # the cancelled order's toys are not counted
    assert a["activity_session_last_90d"] == 1  # the 2 March session is after the cutoff
    assert f.loc["b", "cat_share_家居"] == 1.0
    assert f.loc["d", "frequency"] == 0 and pd.isna(f.loc["d", "recency_days"])


def test_activity_columns_exist_when_there_is_activity_even_none_in_the_window():
    orders = pd.DataFrame({"customer_key": ["a"], "order_date": ["2024-02-01"], "net_revenue": [10.0]})
    kinds = {"customer_key": "object", "event_time": "datetime64[ns]", "activity_type": "object"}
    none = pd.DataFrame({c: pd.Series(dtype=t) for c, t in kinds.items()})
    long_ago = pd.DataFrame({"customer_key": ["a"], "event_time": [pd.Timestamp("2023-01-01")],
                             "activity_type": ["session"]})

    without = customer_features(orders, "2024-03-01", activity=none)
    assert not [c for c in without.columns if c.startswith("activity")]
    old_only = customer_features(orders, "2024-03-01", activity=long_ago).set_index("customer_key")
    assert old_only.loc["a", "activity_last_30d"] == 0 and old_only.loc["a", "activity_last_90d"] == 0


def test_missing_columns_are_named():
    with pytest.raises(KeyError, match="net_revenue"):
        customer_features(pd.DataFrame({"customer_key": [1], "order_date": ["2024-01-01"]}), "2024-02-01")


def _tiny_history():
    orders = pd.DataFrame({"customer_key": ["a", "a", "b", None], "order_id": ["1", "2", "3", "4"],
                           "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-10", "2024-02-11"]),
                           "net_revenue": [10.0, 30.0, 5.0, 8.0], "channel": ["Web", "web ", "app", "web"]})
    items = pd.DataFrame({"order_id": ["1", "2", "3"], "category": ["Books", "Toys", "Books"],
                          "line_revenue": [10.0, 30.0, 5.0]})
    return orders, items


def _temp_tables(con) -> int:
    return con.execute("select count(*) from duckdb_tables() where temporary").fetchone()[0]


def test_the_warehouse_path_matches_frames_and_leaves_no_scratch_tables():
    orders, items = _tiny_history()
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.orders as select * replace (cast(order_date as date) as order_date) from orders")
    con.execute("create table marts.items as select * from items")
    in_warehouse = customer_features_in(con, FeatureSources("marts.orders", "marts.items"), "2024-03-01")

    assert _temp_tables(con) == 0
    pd.testing.assert_frame_equal(in_warehouse, customer_features(orders, "2024-03-01", items))
    assert list(in_warehouse["customer_key"]) == ["a", "b"]  # an order without a customer belongs to nobody
    # "Web" and "web " are one channel spelled two ways: one column, not two that each hold part of it.
    assert [c for c in in_warehouse if c.startswith("channel_share_")] == ["channel_share_app", "channel_share_web"]
    assert in_warehouse.set_index("customer_key").loc["a", "channel_share_web"] == 1.0


def test_scratch_tables_are_dropped_when_an_input_is_wrong():
    orders, items = _tiny_history()
    con = duckdb.connect()
    con.register("orders", orders)
    con.register("items", items.drop(columns="category"))
    with pytest.raises(KeyError, match="category"):
        customer_features_in(con, FeatureSources("orders", "items"), "2024-03-01")
    assert _temp_tables(con) == 0
