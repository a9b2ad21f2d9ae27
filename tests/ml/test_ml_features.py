import pandas as pd
import pytest

from ml.features import customer_features


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


def test_missing_columns_are_named():
    with pytest.raises(KeyError, match="net_revenue"):
        customer_features(pd.DataFrame({"customer_key": [1], "order_date": ["2024-01-01"]}), "2024-02-01")
