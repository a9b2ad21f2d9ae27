"""Item-to-item co-purchase recommendations with a popularity fallback.

Two items are similar when the same customers buy both (cosine similarity of
their customer columns). A customer's candidate score is the summed similarity
to what they already bought; items they own are excluded, and customers the
model has not seen, or whose items have no neighbours, are topped up from the
popularity ranking so everyone gets N items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

REC_COLUMNS = ["customer_key", "rank", "item_id", "score", "source"]


@dataclass
class ItemKNN:
    customers: pd.Index
    items: pd.Index
    bought: sp.csr_matrix  # customers x items, 1 = bought at least once
    similarity: sp.csr_matrix  # items x items cosine, zero diagonal
    popularity: np.ndarray  # buyers per item


def _interactions(purchases: pd.DataFrame, customers: pd.Index | None = None, items: pd.Index | None = None):
    missing = {"customer_key", "item_id"} - set(purchases.columns)
    if missing:
        raise KeyError(f"purchases frame lacks {sorted(missing)}; has {list(purchases.columns)}")
    pairs = purchases[["customer_key", "item_id"]].drop_duplicates()
    customers = pd.Index(np.sort(pairs["customer_key"].unique())) if customers is None else customers
    items = pd.Index(np.sort(pairs["item_id"].unique())) if items is None else items
    rows, cols = customers.get_indexer(pairs["customer_key"]), items.get_indexer(pairs["item_id"])
    keep = (rows >= 0) & (cols >= 0)
    # Binary, not quantities: buying ten of a consumable says less about taste than
    # buying two different things, and counts would let bulk buyers dominate.
    data = np.ones(int(keep.sum()))
    m = sp.csr_matrix((data, (rows[keep], cols[keep])), shape=(len(customers), len(items)))
    return m, customers, items


def fit_item_knn(purchases: pd.DataFrame, neighbours: int | None = 50) -> ItemKNN:
    """Fit on purchases (customer_key, item_id; extra columns ignored).

    ``neighbours`` keeps only each item's strongest similarities: weak co-purchase
    links are mostly noise and the pruned matrix stays small for big catalogues.
    """
    bought, customers, items = _interactions(purchases)
    norms = np.sqrt(np.asarray(bought.sum(axis=0)).ravel())
    inv = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))
    cols = (bought @ inv).tocsc()
    sim = (cols.T @ cols).tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    if neighbours is not None:
        sim = _prune(sim, neighbours)
    return ItemKNN(customers, items, bought, sim, np.asarray(bought.sum(axis=0)).ravel())


def _prune(sim: sp.csr_matrix, k: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i in range(sim.shape[0]):
        start, end = sim.indptr[i], sim.indptr[i + 1]
        if end == start:
            continue
        v, c = sim.data[start:end], sim.indices[start:end]
        # Ties broken by item position so pruning is deterministic.
        top = np.lexsort((c, -v))[:k]
        rows.append(np.full(len(top), i))
        cols.append(c[top])
        vals.append(v[top])
    if not rows:
        return sim
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=sim.shape)


def _top_n(scores: np.ndarray, n: int) -> np.ndarray:
    order = np.lexsort((np.arange(len(scores)), -scores))  # ties: catalogue order
    return order[:n]


def recommend(model: ItemKNN, customer_keys, n: int = 10) -> pd.DataFrame:
    """Top-``n`` items per customer, never one they already bought.

    Output columns: customer_key, rank (1 = best), item_id, score (summed cosine
    similarity; buyers-per-item for popularity fill), source ("similar" or "popular").
    """
    pop_order = _top_n(model.popularity.astype(float), len(model.items))
    rows = []
    positions = model.customers.get_indexer(pd.Index(customer_keys))
    for cid, pos in zip(customer_keys, positions):
        owned = np.zeros(len(model.items), dtype=bool)
        picks: list[tuple[int, float, str]] = []
        if pos >= 0:
            history = model.bought[pos]
            owned[history.indices] = True
            scores = np.asarray((history @ model.similarity).todense()).ravel()
            scores[owned] = 0.0
            for j in _top_n(scores, n):
                if scores[j] > 0:
                    picks.append((j, float(scores[j]), "similar"))
        taken = owned.copy()
        taken[[j for j, _, _ in picks]] = True
        for j in pop_order:
            if len(picks) >= n:
                break
            if not taken[j]:
                picks.append((j, float(model.popularity[j]), "popular"))
                taken[j] = True
        rows += [(cid, r, model.items[j], s, src) for r, (j, s, src) in enumerate(picks, start=1)]
    return pd.DataFrame(rows, columns=REC_COLUMNS)


def recommend_popular(model: ItemKNN, customer_keys, n: int = 10) -> pd.DataFrame:
    """The baseline: most-bought items the customer does not own yet."""
    empty = ItemKNN(model.customers, model.items, model.bought, sp.csr_matrix(model.similarity.shape), model.popularity)
    return recommend(empty, customer_keys, n)


def split_last_purchase(purchases: pd.DataFrame, date_col: str = "order_date") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each customer's last purchase day.

    Train = everything before a customer's last purchase day (and all purchases of
    one-day customers); test = items of the last day the customer had not bought
    before, since re-buys are excluded from recommendations and would only
    measure replenishment. Output frames keep the input columns.
    """
    p = purchases.copy()
    p[date_col] = pd.to_datetime(p[date_col])
    day = p[date_col].dt.normalize()
    last = day.groupby(p["customer_key"]).transform("max")
    first = day.groupby(p["customer_key"]).transform("min")
    is_test = (day == last) & (last > first)
    train, test = p[~is_test], p[is_test]
    seen = set(zip(train["customer_key"], train["item_id"]))
    new = [(c, i) not in seen for c, i in zip(test["customer_key"], test["item_id"])]
    test = test[np.array(new, dtype=bool)].drop_duplicates(["customer_key", "item_id"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def evaluate_recommendations(recs: pd.DataFrame, test: pd.DataFrame, n: int) -> dict[str, float]:
    """precision_at_n, recall_at_n, hit_rate over customers with held-out items."""
    truth = test.groupby("customer_key")["item_id"].apply(set)
    top = recs[recs["rank"] <= n].groupby("customer_key")["item_id"].apply(list)
    hits = np.array([len(truth[c] & set(top.get(c, []))) for c in truth.index], dtype=float)
    sizes = np.array([len(truth[c]) for c in truth.index], dtype=float)
    return {
        "precision_at_n": float(np.mean(hits / n)),
        "recall_at_n": float(np.mean(hits / sizes)),
        "hit_rate": float(np.mean(hits > 0)),
        "n_customers": int(len(truth)),
    }


def evaluate_against_popularity(
    purchases: pd.DataFrame, n: int = 10, date_col: str = "order_date", neighbours: int | None = 50
) -> pd.DataFrame:
    """Leave-last-purchase-out comparison. Output columns: model, precision_at_n,
    recall_at_n, hit_rate, n_customers, n (rows: item_knn, popularity)."""
    train, test = split_last_purchase(purchases, date_col)
    model = fit_item_knn(train, neighbours)
    who = np.sort(test["customer_key"].unique())
    rows = []
    for name, recs in (("item_knn", recommend(model, who, n)), ("popularity", recommend_popular(model, who, n))):
        rows.append({"model": name, **evaluate_recommendations(recs, test, n), "n": n})
    return pd.DataFrame(rows)
