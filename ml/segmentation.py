"""Customer segmentation: standardised features, k chosen by silhouette, KMeans,
and segment names a marketer can read (English and Chinese).

Input is a customer feature frame such as ``ml.features.customer_features``
returns: customer_key plus numeric columns. Names are derived from the columns
listed in ``ROLES`` and from ``cat_share_*`` / ``channel_share_*`` columns; any
other numeric column is clustered on but not used for naming.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

# Money and counts are heavy-tailed; without log1p a handful of whales would
# become their own clusters and every other customer one blob.
LOG_COLUMNS = (
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "inter_purchase_days",
)
ROLES = {
    "recency": "recency_days",
    "tenure": "tenure_days",
    "frequency": "frequency",
    "monetary": "monetary",
    "aov": "avg_order_value",
    "discount": "discount_share",
    "returns": "return_rate",
}
CHANNEL_ZH = {"web": "网站", "app": "App", "store": "门店", "mini_program": "小程序"}
# A centroid must sit this many standard deviations from the mean on its
# defining traits before we call it anything more specific than "average".
NAME_THRESHOLD = 0.5
# Category and channel shares are compositional (one share's gain is another's
# loss), so their z-scores run high on mix alone; halving them lets value and
# lifecycle traits, which map to marketing actions, name a segment first.
PREFERENCE_WEIGHT = 0.5


@dataclass
class SegmentFeatures:
    matrix: np.ndarray
    columns: list[str]
    customer_key: pd.Series
    scaler: StandardScaler
    log_columns: list[str] = field(default_factory=list)


def build_features(
    customers: pd.DataFrame,
    columns: list[str] | None = None,
    log_columns: tuple[str, ...] = LOG_COLUMNS,
    scaler: StandardScaler | None = None,
) -> SegmentFeatures:
    """Log-transform skewed columns, impute, and standardise.

    ``columns`` defaults to every numeric column except customer_key. Missing
    values (e.g. recency of someone who never bought) are filled with the column
    maximum for recency-like columns (longest ago) and 0 otherwise. Pass a fitted
    ``scaler`` to score new customers on an existing model.
    """
    if "customer_key" not in customers.columns:
        raise KeyError("customer frame needs a customer_key column")
    if columns is None:
        columns = [c for c in customers.select_dtypes("number").columns if c != "customer_key"]
    if not columns:
        raise ValueError("no numeric feature columns to segment on")
    frame = customers[columns].astype(float).copy()
    for col in ("recency_days", "inter_purchase_days"):
        if col in frame:
            frame[col] = frame[col].fillna(frame[col].max())
    frame = frame.fillna(0.0)
    logged = [c for c in columns if c in log_columns]
    frame[logged] = np.log1p(frame[logged].clip(lower=0))
    if scaler is None:
        scaler = StandardScaler().fit(frame.to_numpy())
    matrix = scaler.transform(frame.to_numpy())
    # Constant columns have zero variance; StandardScaler leaves them at 0, which is right.
    return SegmentFeatures(np.nan_to_num(matrix), list(columns), customers["customer_key"].reset_index(drop=True), scaler, logged)


def choose_k(
    X: np.ndarray,
    k_range: range = range(2, 9),
    seed: int = 0,
    sample_size: int = 3000,
    criterion: str = "silhouette",
    fit_sample_size: int = 200_000,
) -> tuple[int, pd.DataFrame]:
    """Pick the number of segments.

    Default criterion: highest mean silhouette of seeded KMeans, computed on a
    seeded sample (silhouette is O(n^2)). It rewards well separated, compact
    segments, which is what makes a segment actionable. ``criterion="bic"`` picks
    the lowest BIC of a diagonal GaussianMixture instead; it penalises extra
    segments explicitly and suits data with unequal cluster sizes/spreads, but it
    is reported alongside either way so the choice can be audited.
    Beyond ``fit_sample_size`` customers the candidate models are fitted on a
    seeded sample of that size: seven KMeans and GMM fits over a million rows
    cost minutes and pick the same k as a large sample does.
    Returns (k, table with columns k, silhouette, bic).
    """
    if criterion not in ("silhouette", "bic"):
        raise ValueError(f"criterion must be 'silhouette' or 'bic', got {criterion!r}")
    n = X.shape[0]
    ks = [k for k in k_range if 2 <= k < n]
    if not ks:
        raise ValueError(f"no valid k in {list(k_range)} for {n} customers")
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(sample_size, n), replace=False) if n > sample_size else np.arange(n)
    # Drawn after the silhouette sample, so data below fit_sample_size sees the same draws as always.
    fitted = X[np.sort(rng.choice(n, size=fit_sample_size, replace=False))] if n > fit_sample_size else X
    rows = []
    for k in ks:
        kmeans = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(fitted)
        labels = kmeans.labels_[sample] if fitted is X else kmeans.predict(X[sample])
        sil = silhouette_score(X[sample], labels) if len(np.unique(labels)) > 1 else -1.0
        gmm = GaussianMixture(n_components=k, covariance_type="diag", random_state=seed, reg_covar=1e-4).fit(fitted)
        rows.append({"k": k, "silhouette": float(sil), "bic": float(gmm.bic(fitted))})
    table = pd.DataFrame(rows)
    best = table.loc[table["silhouette"].idxmax()] if criterion == "silhouette" else table.loc[table["bic"].idxmin()]
    return int(best["k"]), table


def _archetypes(centroid: pd.Series) -> list[tuple[float, str, str]]:
    """(score, English, Chinese) for every name this centroid could earn."""
    z = lambda role: float(centroid.get(ROLES[role], 0.0))  # noqa: E731
    mean = lambda *v: float(np.mean(v))  # noqa: E731
    out = [
        (mean(z("monetary"), z("frequency"), -z("recency")), "High-value loyalists", "高价值忠诚客户"),
        (mean(z("recency"), -z("frequency")), "Lapsing customers", "沉睡流失风险客户"),
        (z("discount"), "Bargain hunters", "价格敏感客户"),
        (mean(-z("tenure"), -z("recency")), "New customers", "新客户"),
        (mean(z("aov"), -z("frequency")), "Big-ticket occasional buyers", "大额低频客户"),
        (mean(z("frequency"), -z("aov")), "Frequent small-basket buyers", "高频小额客户"),
        (z("returns"), "Frequent returners", "高退货客户"),
    ]
    for col, value in centroid.items():
        if col.startswith("cat_share_"):
            cat = col.removeprefix("cat_share_")
            out.append((PREFERENCE_WEIGHT * float(value), f"{cat.replace('_', ' ').title()} enthusiasts", f"{cat}品类偏好客户"))
        elif col.startswith("channel_share_"):
            ch = col.removeprefix("channel_share_")
            label = "App" if ch == "app" else ch.replace("_", " ").title()
            out.append((PREFERENCE_WEIGHT * float(value), f"{label}-first shoppers", f"{CHANNEL_ZH.get(ch, ch)}渠道偏好客户"))
    return out


def name_segments(centroids_z: pd.DataFrame) -> pd.DataFrame:
    """Give each segment a distinct marketer-facing name from its standardised centroid.

    Greedy assignment over (segment, archetype) pairs, strongest first, each name
    used once, so two segments never share a label; a segment whose strongest
    trait is weaker than NAME_THRESHOLD standard deviations is "Average customers".
    Output columns: segment, name_en, name_zh, name_score.
    """
    candidates = []
    for seg, row in centroids_z.iterrows():
        for score, en, zh in _archetypes(row):
            candidates.append((score, int(seg), en, zh))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    named: dict[int, tuple[str, str, float]] = {}
    used: set[str] = set()
    for score, seg, en, zh in candidates:
        if score < NAME_THRESHOLD:
            break
        if seg in named or en in used:
            continue
        named[seg] = (en, zh, score)
        used.add(en)
    rows, n_average = [], 0
    for seg in sorted(int(s) for s in centroids_z.index):
        if seg in named:
            en, zh, score = named[seg]
        else:
            n_average += 1
            suffix = "" if n_average == 1 else f" {n_average}"
            en, zh, score = f"Average customers{suffix}", f"普通客户{suffix}", 0.0
        rows.append({"segment": seg, "name_en": en, "name_zh": zh, "name_score": score})
    return pd.DataFrame(rows)


@dataclass
class SegmentationResult:
    k: int
    model: KMeans
    features: SegmentFeatures
    labels: np.ndarray
    names: pd.DataFrame
    k_table: pd.DataFrame
    stability_ari: float

    def assignments(self) -> pd.DataFrame:
        """customer_key, segment, segment_name_en, segment_name_zh."""
        return named_assignments(self.features.customer_key, self.labels, self.names)


def named_assignments(customer_key: pd.Series, labels: np.ndarray, names: pd.DataFrame) -> pd.DataFrame:
    """customer_key, segment, segment_name_en, segment_name_zh for ``labels`` (segment ids) in key order."""
    by_segment = names.set_index("segment")
    return pd.DataFrame(
        {
            "customer_key": np.asarray(customer_key),
            "segment": labels,
            "segment_name_en": by_segment.loc[labels, "name_en"].to_numpy(),
            "segment_name_zh": by_segment.loc[labels, "name_zh"].to_numpy(),
        }
    )


def assign_segments(result: SegmentationResult, customers: pd.DataFrame) -> np.ndarray:
    """Segment ids for ``customers`` from a fitted result: its log transform, scaler and centroids.

    The ids are the result's own (ordered by size at fitting), so a customer whose
    behaviour has not changed keeps their segment between refits. A column the result
    was fitted on that ``customers`` lacks (a sales channel with no sales in this data)
    counts as 0; columns it was not fitted on are ignored.
    """
    fitted = result.features
    frame = customers.reindex(columns=["customer_key", *fitted.columns], fill_value=0.0)
    features = build_features(frame, fitted.columns, tuple(fitted.log_columns), fitted.scaler)
    # KMeans' own cluster numbers -> the canonical ids: read off the fitted customers' two labellings.
    canonical = np.empty(result.model.n_clusters, dtype=int)
    canonical[result.model.labels_] = result.labels
    return canonical[result.model.predict(features.matrix)]


def _canonical_labels(model: KMeans, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # KMeans numbers clusters arbitrarily; ordering by size (then centroid) keeps
    # segment ids stable across reruns so downstream tables do not reshuffle.
    sizes = np.bincount(labels, minlength=model.n_clusters)
    order = sorted(range(model.n_clusters), key=lambda c: (-sizes[c], tuple(model.cluster_centers_[c])))
    remap = np.empty(model.n_clusters, dtype=int)
    remap[order] = np.arange(model.n_clusters)
    return remap[labels], model.cluster_centers_[order]


def stability(X: np.ndarray, k: int, seeds: tuple[int, int] = (0, 1)) -> float:
    """Adjusted Rand index between KMeans runs with two seeds (1 = same partition)."""
    a = KMeans(n_clusters=k, random_state=seeds[0], n_init=10).fit_predict(X)
    b = KMeans(n_clusters=k, random_state=seeds[1], n_init=10).fit_predict(X)
    return float(adjusted_rand_score(a, b))


def fit_segments(
    customers: pd.DataFrame,
    k: int | None = None,
    k_range: range = range(2, 9),
    seed: int = 0,
    criterion: str = "silhouette",
    columns: list[str] | None = None,
) -> SegmentationResult:
    """Segment customers; k is chosen by ``choose_k`` unless given."""
    feats = build_features(customers, columns)
    if k is None:
        chosen, k_table = choose_k(feats.matrix, k_range, seed, criterion=criterion)
    else:
        chosen, k_table = k, pd.DataFrame(columns=["k", "silhouette", "bic"])
    model = KMeans(n_clusters=chosen, random_state=seed, n_init=10).fit(feats.matrix)
    labels, centers = _canonical_labels(model, model.labels_)
    centroids_z = pd.DataFrame(centers, columns=feats.columns)
    return SegmentationResult(
        k=chosen,
        model=model,
        features=feats,
        labels=labels,
        names=name_segments(centroids_z),
        k_table=k_table,
        stability_ari=stability(feats.matrix, chosen, (seed, seed + 1)),
    )


def segment_profile(customers: pd.DataFrame, result: SegmentationResult, top_n_categories: int = 3) -> pd.DataFrame:
    """One row per segment: segment, name_en, name_zh, n_customers, share,
    mean of every feature in original units, top_categories (by mean share)."""
    frame = customers.reset_index(drop=True)
    grouped = frame[result.features.columns].groupby(result.labels)
    means = grouped.mean()
    means.columns = [f"mean_{c}" for c in means.columns]
    sizes = grouped.size()
    cat_cols = [c for c in result.features.columns if c.startswith("cat_share_")]

    def top(seg: int) -> str:
        if not cat_cols:
            return ""
        shares = frame.loc[result.labels == seg, cat_cols].mean().sort_values(ascending=False)
        return ", ".join(c.removeprefix("cat_share_") for c in shares.index[:top_n_categories] if shares[c] > 0)

    out = result.names.set_index("segment")[["name_en", "name_zh"]].copy()
    out["n_customers"] = sizes.reindex(out.index).to_numpy()
    out["share"] = out["n_customers"] / len(frame)
    out = out.join(means)
    out["top_categories"] = [top(s) for s in out.index]
    return out.reset_index()
