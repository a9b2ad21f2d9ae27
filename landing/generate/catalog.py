"""The product catalogue and the samplers that pick products for baskets.

Products are grouped into small co-purchase clusters inside a category (items
that go together); baskets draw extra lines from the anchor item's cluster, so
item-to-item recommendations have a planted structure to recover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .params import DAY, HOUR, NULL, Window, rng_for
from .personas import CATEGORIES, PERSONAS
from .render import fixed_ids
from .vocab import BRANDS, CATEGORY_PRICE, PRODUCT_NOUNS, TIER_PRICE_FACTOR, VARIANTS

N_PRODUCTS = 1200
CLUSTER_SIZE = 6
PRICE_UPDATE_SHARE = 0.05


@dataclass
class Catalog:
    ids: pa.Array
    names: list[str]
    category: np.ndarray  # index into CATEGORIES, products sorted by category
    brand: np.ndarray  # global brand index
    brand_names: list[str]
    brand_category: np.ndarray
    brand_tier: np.ndarray
    tier: np.ndarray
    cluster: np.ndarray
    price: np.ndarray  # cents, initial list price
    new_price: np.ndarray  # cents after the update, NULL if none
    update_at: np.ndarray  # epoch seconds of the price update, NULL if none
    popularity: np.ndarray
    cat_start: np.ndarray  # first product of each category
    cat_end: np.ndarray

    def __len__(self) -> int:
        return len(self.category)

    def price_at(self, product: np.ndarray, ts: np.ndarray) -> np.ndarray:
        upd = self.update_at[product]
        changed = (upd != NULL) & (ts >= upd)
        return np.where(changed, self.new_price[product], self.price[product])

    def _segment_sampler(self, key: np.ndarray, weights: np.ndarray):
        """Products sorted by key with a cumulative weight that runs from k to k+1 inside segment k.

        Sampling a product of segment k is then one searchsorted(k + u) for any mix of k's.
        """
        order = np.lexsort((np.arange(len(key)), key))
        k = key[order]
        w = weights[order]
        cum = np.zeros(len(k))
        for seg in np.unique(k):
            sel = k == seg
            c = np.cumsum(w[sel])
            cum[sel] = seg + c / c[-1]
        return order, cum

    def build_samplers(self) -> None:
        self.by_category = []
        for p in PERSONAS:
            tier_w = np.asarray(p.price_tier_weights)[self.tier]
            self.by_category.append(self._segment_sampler(self.category, self.popularity * tier_w))
        self.by_brand = self._segment_sampler(self.brand, self.popularity)
        self.by_cluster = self._segment_sampler(self.cluster, self.popularity)

    @staticmethod
    def _draw(sampler, seg: np.ndarray, rng) -> np.ndarray:
        order, cum = sampler
        i = np.searchsorted(cum, seg + rng.random(len(seg)) * (1 - 1e-12), side="right")
        return order[np.minimum(i, len(order) - 1)]

    def in_category(self, persona: np.ndarray, cat: np.ndarray, rng) -> np.ndarray:
        out = np.empty(len(cat), dtype=np.int64)
        for k in range(len(PERSONAS)):
            sel = np.flatnonzero(persona == k)
            if len(sel):
                out[sel] = self._draw(self.by_category[k], cat[sel], rng)
        return out

    def in_brand(self, brand: np.ndarray, rng) -> np.ndarray:
        return self._draw(self.by_brand, brand, rng)

    def in_cluster(self, cluster: np.ndarray, rng) -> np.ndarray:
        return self._draw(self.by_cluster, cluster, rng)


def build_catalog(seed: int, window: Window) -> Catalog:
    rng = rng_for(seed, "catalog")
    brand_names, brand_cat, brand_tier = [], [], []
    for ci, cat in enumerate(CATEGORIES):
        for name, tier in BRANDS[cat]:
            brand_names.append(name)
            brand_cat.append(ci)
            brand_tier.append(tier)
    brand_cat = np.asarray(brand_cat)
    brand_tier = np.asarray(brand_tier)
    # Category sizes follow how much of the range each category carries in a real shop.
    cat_w = np.array([0.2, 0.12, 0.18, 0.2, 0.14, 0.1, 0.06])
    sizes = np.floor(cat_w / cat_w.sum() * N_PRODUCTS).astype(int)
    sizes[0] += N_PRODUCTS - sizes.sum()
    category = np.repeat(np.arange(len(CATEGORIES)), sizes)
    brand = np.empty(N_PRODUCTS, dtype=np.int64)
    names = []
    cluster = np.empty(N_PRODUCTS, dtype=np.int64)
    next_cluster = 0
    start = 0
    for ci, size in enumerate(sizes):
        cands = np.flatnonzero(brand_cat == ci)
        brand[start:start + size] = rng.choice(cands, size)
        n_cl = max(1, size // CLUSTER_SIZE)
        cluster[start:start + size] = next_cluster + rng.integers(0, n_cl, size)
        next_cluster += n_cl
        nouns = PRODUCT_NOUNS[CATEGORIES[ci]]
        for i in range(start, start + size):
            en, zh = nouns[int(rng.integers(len(nouns)))]
            ven, vzh = VARIANTS[int(rng.integers(len(VARIANTS)))]
            b = brand_names[brand[i]]
            # Bilingual names: mostly Chinese-first like a CN storefront, some English-only.
            style = rng.random()
            if style < 0.45:
                names.append(f"{b} {zh} {vzh}")
            elif style < 0.8:
                names.append(f"{b} {zh} {en} {ven}")
            else:
                names.append(f"{b} {en} {ven}")
        start += size
    tier = brand_tier[brand]
    base = np.array([CATEGORY_PRICE[c] for c in CATEGORIES])[category]
    price_yuan = base * np.asarray(TIER_PRICE_FACTOR)[tier] * rng.lognormal(0.0, 0.35, N_PRODUCTS)
    # Shop prices end in .90 or .00 or .50, like real ones.
    price = (np.maximum(np.floor(price_yuan), 1) * 100 + rng.choice([90, 0, 50], N_PRODUCTS)).astype(np.int64)
    popularity = rng.pareto(1.5, N_PRODUCTS) + 0.2
    upd = rng.random(N_PRODUCTS) < PRICE_UPDATE_SHARE
    update_at = np.full(N_PRODUCTS, NULL, dtype=np.int64)
    # Updates happen in the second half of the window so the first price is observed for a while.
    half = window.start + window.days * DAY // 2
    update_at[upd] = rng.integers(half // HOUR, window.end // HOUR - 1, int(upd.sum())) * HOUR
    new_price = np.full(N_PRODUCTS, NULL, dtype=np.int64)
    factor = rng.choice([0.85, 0.9, 1.1, 1.15], int(upd.sum()))
    new_price[upd] = (np.round(price[upd] * factor / 10) * 10).astype(np.int64)
    cat_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cat = Catalog(
        ids=fixed_ids("P", np.arange(1, N_PRODUCTS + 1), 5), names=names, category=category, brand=brand,
        brand_names=brand_names, brand_category=brand_cat, brand_tier=brand_tier, tier=tier, cluster=cluster,
        price=price, new_price=new_price, update_at=update_at, popularity=popularity,
        cat_start=cat_start, cat_end=cat_start + sizes,
    )
    cat.build_samplers()
    return cat


def product_frames(cat: Catalog, window: Window):
    """The catalogue versions: everything on the first day, price updates on their day."""
    n = len(cat)
    first = window.start - 2 * HOUR  # written in the CRM the night before the window opens
    upd = np.flatnonzero(cat.update_at != NULL)
    idx = np.concatenate([np.arange(n), upd])
    price = np.concatenate([cat.price, cat.new_price[upd]])
    updated_at = np.concatenate([np.full(n, first), cat.update_at[upd]])
    frame = {
        "product_id": cat.ids.take(pa.array(idx)),
        "name": pa.array(cat.names, pa.string()).take(pa.array(idx)),
        "category": pa.array(CATEGORIES, pa.string()).take(pa.array(cat.category[idx])),
        "brand": pa.array(cat.brand_names, pa.string()).take(pa.array(cat.brand[idx])),
        "price": price,
        "updated_at": updated_at,
    }
    delivery = np.maximum(updated_at // DAY, window.first_day)
    return frame, delivery, updated_at
