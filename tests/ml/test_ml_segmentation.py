import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from ml.segmentation import build_features, choose_k, fit_segments, name_segments, segment_profile

PLANTED = {
    # name: (recency_days, tenure_days, frequency, monetary/order, discount_share, books, toys)
    "loyal": (5, 700, 30, 120, 0.05, 0.5, 0.5),
    "lapsing": (300, 600, 2, 40, 0.05, 0.5, 0.5),
    "bargain": (40, 400, 8, 30, 0.45, 0.5, 0.5),
    "new": (7, 20, 1, 50, 0.05, 0.9, 0.1),
}


def planted_customers(n_per: int = 150, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for i, (rec, ten, freq, aov, disc, books, _toys) in enumerate(PLANTED.values()):
        f = np.maximum(1, rng.poisson(freq, n_per)).astype(float)
        a = aov * rng.lognormal(0, 0.15, n_per)
        b = np.clip(books + rng.normal(0, 0.05, n_per), 0, 1)
        frames.append(
            pd.DataFrame(
                {
                    "recency_days": rec * rng.lognormal(0, 0.2, n_per),
                    "tenure_days": ten * rng.lognormal(0, 0.1, n_per),
                    "frequency": f,
                    "monetary": f * a,
                    "avg_order_value": a,
                    "discount_share": np.clip(disc + rng.normal(0, 0.03, n_per), 0, 1),
                    "cat_share_books": b,
                    "cat_share_toys": 1 - b,
                }
            )
        )
        truth += [i] * n_per
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "customer_key", [f"c{i:04d}" for i in range(len(df))])
    return df, np.array(truth)


@pytest.fixture(scope="module")
def planted():
    customers, truth = planted_customers()
    return customers, truth, fit_segments(customers, k_range=range(2, 8), seed=0)


def test_recovers_planted_clusters(planted):
    _customers, truth, result = planted
    assert result.k == 4
    assert adjusted_rand_score(truth, result.labels) > 0.8
    assert result.stability_ari > 0.9


def test_names_describe_the_planted_profiles(planted):
    customers, truth, result = planted
    names = result.assignments()
    assert list(names.columns) == ["customer_key", "segment", "segment_name_en", "segment_name_zh"]
    majority = names.groupby(truth)["segment_name_en"].agg(lambda s: s.mode()[0])
    assert majority[0] == "High-value loyalists"
    assert majority[1] == "Lapsing customers"
    assert majority[2] == "Bargain hunters"
    assert majority[3] == "New customers"
    zh = names.groupby(truth)["segment_name_zh"].agg(lambda s: s.mode()[0])
    assert zh[0] == "高价值忠诚客户" and zh[2] == "价格敏感客户"
    assert result.names["name_en"].is_unique


def test_profile_table(planted):
    customers, _truth, result = planted
    profile = segment_profile(customers, result)
    assert {"segment", "name_en", "name_zh", "n_customers", "share", "mean_monetary", "top_categories"} <= set(profile.columns)
    assert profile["n_customers"].sum() == len(customers)
    assert profile["share"].sum() == pytest.approx(1.0)
    new = profile.set_index("name_en").loc["New customers"]
    assert new["top_categories"].split(", ")[0] == "books"
    # Segment ids are ordered by size so reruns do not reshuffle downstream tables.
    assert profile.sort_values("segment")["n_customers"].is_monotonic_decreasing


def test_deterministic_given_seed(planted):
    customers, _truth, first = planted
    again = fit_segments(customers, k_range=range(2, 8), seed=0)
    assert (again.labels == first.labels).all()
    assert again.names.equals(first.names)


def test_choose_k_reports_both_criteria():
    customers, _ = planted_customers(60)
    X = build_features(customers).matrix
    k, table = choose_k(X, range(2, 7), seed=0)
    assert list(table.columns) == ["k", "silhouette", "bic"]
    assert k == int(table.loc[table["silhouette"].idxmax(), "k"])
    k_bic, _ = choose_k(X, range(2, 7), seed=0, criterion="bic")
    assert k_bic == int(table.loc[table["bic"].idxmin(), "k"])


def test_k_chosen_on_a_sample_of_many_customers_is_the_planted_one(planted):
    customers, _truth, _result = planted
    X = build_features(customers).matrix
    everyone, table = choose_k(X, range(2, 7), seed=0)
    sampled, sampled_table = choose_k(X, range(2, 7), seed=0, fit_sample_size=len(X) // 3)
    assert sampled == everyone == len(PLANTED)
    assert not sampled_table.equals(table)  # the sample really was used


def test_weak_centroids_are_average_and_names_unique():
    centroids = pd.DataFrame(
        {"monetary": [0.1, 2.0, 1.9], "frequency": [0.0, 2.0, 1.8], "recency_days": [0.0, -1.0, -1.0]}
    )
    names = name_segments(centroids)
    assert names.loc[0, "name_en"] == "Average customers"
    assert names.loc[1, "name_en"] == "High-value loyalists"
    assert names["name_en"].is_unique


def test_a_few_whales_do_not_hijack_a_segment():
    customers, truth = planted_customers()
    whales = customers.iloc[:3].copy()
    whales["customer_key"] = ["w1", "w2", "w3"]
    whales[["frequency", "monetary"]] *= [20, 400]
    result = fit_segments(pd.concat([customers, whales], ignore_index=True), k=4, seed=0)
    # Heavy tails are logged, so the four planted groups survive instead of
    # three whales taking a segment of their own.
    assert adjusted_rand_score(truth, result.labels[: len(truth)]) > 0.8


def test_a_fitted_result_assigns_new_rows_with_the_same_ids(planted):
    from ml.segmentation import assign_segments

    customers, _truth, result = planted
    assert (assign_segments(result, customers) == result.labels).all()
    # Order of rows and of columns does not matter, extra columns are ignored.
    shuffled = customers.sample(frac=1.0, random_state=3).assign(unrelated=1.0)
    expected = pd.Series(result.labels, index=customers.index).loc[shuffled.index].to_numpy()
    assert (assign_segments(result, shuffled[shuffled.columns[::-1]]) == expected).all()
    # A column the result was fitted on that is absent counts as 0 instead of failing.
    assert len(assign_segments(result, customers.drop(columns=["cat_share_toys"]))) == len(customers)
