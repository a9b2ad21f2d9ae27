import numpy as np
import pandas as pd
import pytest

import ml.recommend as recommend_module
from ml.recommend import (
    evaluate_against_popularity,
    fit_item_knn,
    recommend,
    recommend_popular,
    split_last_purchase,
)

N_GROUPS, PER_GROUP = 6, 10


def planted_purchases(n_customers: int = 600, seed: int = 11) -> pd.DataFrame:
    """Customers each favour one product family; a few global bestsellers sell to all.

    Within-family co-purchase is the structure item-item similarity should find;
    the bestsellers are what a popularity ranking would push.
    """
    rng = np.random.default_rng(seed)
    bestsellers = [f"best{i}" for i in range(5)]
    rows = []
    for c in range(n_customers):
        family = rng.integers(N_GROUPS)
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 30)))
        for _basket in range(rng.integers(2, 6)):
            for _ in range(rng.integers(1, 4)):
                if rng.random() < 0.75:
                    item = f"g{family}_{rng.integers(PER_GROUP)}"
                else:
                    item = bestsellers[min(int(rng.exponential(1.2)), 4)]
                rows.append((f"c{c:04d}", item, day))
            day += pd.Timedelta(days=int(rng.integers(1, 40)))
    return pd.DataFrame(rows, columns=["customer_key", "item_id", "order_date"])


@pytest.fixture(scope="module")
def purchases():
    return planted_purchases()


def test_beats_popularity_on_held_out_last_purchases(purchases):
    table = evaluate_against_popularity(purchases, n=5).set_index("model")
    knn, pop = table.loc["item_knn"], table.loc["popularity"]
    assert knn["n_customers"] == pop["n_customers"] > 300
    assert knn["hit_rate"] > pop["hit_rate"] + 0.1
    assert knn["precision_at_n"] > pop["precision_at_n"]
    assert knn["recall_at_n"] > pop["recall_at_n"]


def test_recommendations_exclude_owned_items_and_fill_cold_start(purchases):
    model = fit_item_knn(purchases)
    recs = recommend(model, ["c0000", "never-seen"], n=8)
    assert list(recs.columns) == ["customer_key", "rank", "item_id", "score", "source"]
    owned = set(purchases.loc[purchases["customer_key"] == "c0000", "item_id"])
    mine = recs[recs["customer_key"] == "c0000"]
    assert len(mine) == 8 and not (set(mine["item_id"]) & owned)
    assert list(mine["rank"]) == list(range(1, 9))
    cold = recs[recs["customer_key"] == "never-seen"]
    assert len(cold) == 8 and (cold["source"] == "popular").all()
    assert cold["item_id"].iloc[0] == purchases.drop_duplicates(["customer_key", "item_id"])["item_id"].value_counts().idxmax()


def test_similar_items_come_from_the_same_family(purchases):
    model = fit_item_knn(purchases)
    j = model.items.get_loc("g2_0")
    row = model.similarity[j].toarray().ravel()
    top = [model.items[i] for i in np.argsort(-row, kind="stable")[:5]]
    assert all(t.startswith("g2_") for t in top)
    assert model.similarity[j, j] == 0


def test_split_holds_out_only_new_items_of_the_last_day():
    p = pd.DataFrame(
        {
            "customer_key": ["a", "a", "a", "a", "b"],
            "item_id": ["x", "y", "x", "z", "x"],
            "order_date": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01", "2024-01-05"],
        }
    )
    train, test = split_last_purchase(p)
    assert set(map(tuple, test[["customer_key", "item_id"]].to_numpy())) == {("a", "z")}
    assert len(train) == 3  # a's first day and b's only day


def test_popularity_baseline_never_uses_similarity(purchases):
    model = fit_item_knn(purchases)
    assert (recommend_popular(model, ["c0001"], n=5)["source"] == "popular").all()


def test_blocks_of_customers_give_the_same_recommendations(purchases, monkeypatch):
    model = fit_item_knn(purchases)
    everyone = [*model.customers[:150], "never-seen"]
    whole = recommend(model, everyone, n=7)
    # One customer per block: every block boundary falls between two customers' rows.
    monkeypatch.setattr(recommend_module, "BLOCK_CELLS", 1)
    pd.testing.assert_frame_equal(recommend(model, everyone, n=7), whole)
    assert whole.groupby("customer_key").size().eq(7).all() and whole["customer_key"].nunique() == 151


def test_ties_go_to_the_catalogue_order_and_the_fill_skips_what_is_owned():
    # Everyone owns x and one item besides, so for c (x and w) p, q, y and z are equally similar.
    p = pd.DataFrame({"customer_key": ["a", "a", "b", "b", "c", "c", "d", "d", "d"],
                      "item_id": ["x", "y", "x", "z", "x", "w", "x", "p", "q"]})
    model = fit_item_knn(p)
    c = recommend(model, ["c"], n=4)
    assert list(c["item_id"]) == ["p", "q", "y", "z"] and (c["source"] == "similar").all()
    assert c["score"].nunique() == 1
    # x is the bestseller; d owns it and p and q, which leaves three items to fill four slots with.
    d = recommend_popular(model, ["d"], n=4)
    assert list(d["item_id"]) == ["w", "y", "z"] and list(d["rank"]) == [1, 2, 3]


def test_asking_for_no_recommendations_is_refused(purchases):
    with pytest.raises(ValueError, match="at least one"):
        recommend(fit_item_knn(purchases), ["c0000"], n=0)


def test_a_model_fitted_earlier_scores_todays_purchases(purchases):
    """with_purchases: what was bought since fitting is never recommended, a first-time buyer since is not a stranger."""
    from ml.recommend import with_purchases

    model = fit_item_knn(purchases)
    before = recommend(model, ["c0000"], n=5)
    bought_since = before["item_id"].iloc[0]
    family_item = purchases.loc[purchases["customer_key"] == "c0001", "item_id"].iloc[0]
    since = pd.DataFrame({"customer_key": ["c0000", "newcomer", "newcomer"],
                          "item_id": [bought_since, family_item, "launched-since"],
                          "order_date": pd.Timestamp("2024-06-01")})
    current = with_purchases(model, pd.concat([purchases, since], ignore_index=True))

    recs = recommend(current, ["c0000", "newcomer"], n=5)
    assert bought_since not in set(recs.loc[recs["customer_key"] == "c0000", "item_id"])
    newcomer = recs[recs["customer_key"] == "newcomer"]
    assert (newcomer["source"] == "similar").any(), "a customer who bought since fitting gets co-purchase picks"
    assert family_item not in set(newcomer["item_id"])
    # The fitted similarities and popularity are kept; an item the model never saw stays out until a refit.
    assert current.similarity is model.similarity and "launched-since" not in set(current.items)
    # On the purchases it was fitted on, nothing changes.
    same = with_purchases(model, purchases)
    pd.testing.assert_frame_equal(recommend(same, ["c0000", "c0001"], n=5), recommend(model, ["c0000", "c0001"], n=5))
