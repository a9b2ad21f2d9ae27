"""Customers of one chunk: latent traits (truth) and their CRM records (landing).

Traits are drawn first and drive everything else; the CRM record is only what
the shop would know (name, contact, consent), with planted updates and gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .catalog import Catalog
from .dirt import blank
from .params import DAY, DIRT_RATES, HOUR, NULL, YEAR_DAYS, Window, rng_for
from .personas import CATEGORIES, PERSONA_SHARES, PERSONAS
from .render import fixed_ids
from .vocab import (
    CITY_RETYPES, CN_GIVEN, CN_SURNAMES, COUNTRIES, COUNTRY_CODES, DE_FIRST, DE_LAST, EN_FIRST, EN_LAST,
    SG_FIRST, SG_LAST,
)

PRE_WINDOW_SHARE = 0.6  # customers who signed up before the window (delivered on its first day)
PRE_WINDOW_YEARS = 3.0
CONSENT_RATE = 0.6
ACQ = ("organic_search", "paid_search", "social", "referral", "email", "offline_store")
# acquisition channel mix per persona (aligned with PERSONAS)
ACQ_WEIGHTS = np.array([
    [0.25, 0.30, 0.15, 0.15, 0.10, 0.05],
    [0.20, 0.10, 0.05, 0.15, 0.10, 0.40],
    [0.15, 0.20, 0.45, 0.10, 0.05, 0.05],
    [0.40, 0.20, 0.05, 0.10, 0.05, 0.20],
])
UPDATE_KINDS = ("city", "email_case", "consent", "phone")


@dataclass
class Customers:
    gidx: np.ndarray  # global customer number (1-based)
    ids: pa.Array
    persona: np.ndarray
    country: np.ndarray  # index into COUNTRY_CODES
    signup: np.ndarray
    alive_until: np.ndarray
    rate: np.ndarray  # purchases per year while alive
    pref_cat: np.ndarray  # (n, 2) category indexes
    fav_brand: np.ndarray  # (n, 2) brand indexes, -1 when the persona has none
    channel_probs: np.ndarray  # (n, 3) web, app, store
    devices: np.ndarray  # 1 or 2 devices (anonymous ids)
    sentiment: np.ndarray  # latent tone, -1 .. 1
    email: list  # true e-mail, lower case (None when the customer gave none)
    consent0: np.ndarray  # consent before any update
    consent_final: np.ndarray
    consent_changed_at: np.ndarray  # NULL when consent never changed
    crm: dict  # the landing frame (initial + updated versions)
    crm_delivery: np.ndarray
    crm_time: np.ndarray
    n_updates: int

    def __len__(self) -> int:
        return len(self.gidx)

    def consent_at(self, ts) -> np.ndarray:
        changed = (self.consent_changed_at != NULL) & (ts >= self.consent_changed_at)
        return np.where(changed, self.consent_final, self.consent0)

    def exposure(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Interval of the window in which the customer can act: after signup, before churn."""
        lo = np.maximum(self.signup + HOUR, window.start + HOUR)
        hi = np.minimum(self.alive_until, window.end - 1)
        return lo, np.maximum(hi, lo)


def _phone(cc: str, rng) -> str:
    d = lambda k: "".join(str(x) for x in rng.integers(0, 10, k))  # noqa: E731
    style = int(rng.integers(0, 4))
    if cc == "CN":
        a, b, c = "1" + str(int(rng.integers(3, 10))) + d(1), d(4), d(4)
        return (f"{a} {b} {c}", f"+86-{a}-{b}-{c}", f"{a}{b}{c}", f"+86 {a} {b} {c}")[style]
    if cc == "US":
        a, b, c = str(int(rng.integers(201, 990))), "555", d(4)
        return (f"({a}) {b}-{c}", f"+1 {a}-{b}-{c}", f"{a}.{b}.{c}", f"({a}) {b}-{c}")[style]
    if cc == "GB":
        b, c = d(4), d(4)
        return (f"+44 20 {b} {c}", f"020 {b} {c}", f"+44 7700 {d(6)}", f"07700 {d(6)}")[style]
    if cc == "DE":
        return (f"+49 30 {d(7)}", f"030 {d(7)}", f"+49 151 {d(8)}", f"0151 {d(8)}")[style]
    return (f"+65 6{d(3)} {d(4)}", f"9{d(3)} {d(4)}", f"+65 9{d(3)} {d(4)}", f"+6581{d(6)}")[style]


def _country_text(cc: str, rng) -> str:
    name = COUNTRIES[cc][1]
    return (cc, cc.lower(), name, name.upper(), name.lower(), cc)[int(rng.integers(0, 6))]


def _name_and_email(cc: str, gidx: int, rng) -> tuple[str, str, str]:
    if cc == "CN":
        s, sp = CN_SURNAMES[int(rng.integers(len(CN_SURNAMES)))]
        k = 1 + int(rng.random() < 0.6)
        given = [CN_GIVEN[int(rng.integers(len(CN_GIVEN)))] for _ in range(k)]
        first, fp = "".join(g[0] for g in given), "".join(g[1] for g in given)
        last, lp = s, sp
    else:
        pools = {"US": (EN_FIRST, EN_LAST), "GB": (EN_FIRST, EN_LAST), "DE": (DE_FIRST, DE_LAST), "SG": (SG_FIRST, SG_LAST)}
        fpool, lpool = pools[cc]
        first, last = fpool[int(rng.integers(len(fpool)))], lpool[int(rng.integers(len(lpool)))]
        tr = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ß": "ss", " ": ""})
        fp, lp = first.lower().translate(tr), last.lower().translate(tr)
    domains = COUNTRIES[cc][3]
    dom = domains[int(rng.integers(len(domains)))]
    style = int(rng.integers(0, 3))
    local = (f"{fp}.{lp}{gidx}", f"{lp}{fp}_{gidx}", f"{fp}{gidx}")[style]
    return first, last, f"{local}@{dom}"


def _typed_email(email: str, rng) -> str:
    """E-mail as the customer typed it: mostly lower case, some capitalised or shouted."""
    r = rng.random()
    if r < 0.12:
        local, dom = email.split("@")
        return local.capitalize() + "@" + dom
    if r < 0.17:
        return email.upper()
    return email


def build_customers(seed: int, chunk: int, lo: int, hi: int, window: Window, cat: Catalog) -> Customers:
    rng = rng_for(seed, "customers", chunk)
    n = hi - lo
    gidx = np.arange(lo + 1, hi + 1, dtype=np.int64)
    persona = rng.choice(len(PERSONAS), n, p=PERSONA_SHARES)
    shares = np.array([COUNTRIES[c][0] for c in COUNTRY_CODES])
    country = rng.choice(len(COUNTRY_CODES), n, p=shares / shares.sum())
    pre = rng.random(n) < PRE_WINDOW_SHARE
    span_pre = int(PRE_WINDOW_YEARS * YEAR_DAYS * DAY)
    signup = np.where(
        pre,
        window.start - rng.integers(HOUR, span_pre, n),
        window.start + rng.integers(0, window.end - window.start - HOUR, n),
    )
    life_mean = np.array([p.mean_lifetime_days for p in PERSONAS])[persona]
    alive_until = signup + (rng.exponential(life_mean) * DAY).astype(np.int64)
    shape = np.array([p.rate_shape for p in PERSONAS])[persona]
    mean_rate = np.array([p.orders_per_year for p in PERSONAS])[persona]
    rate = rng.gamma(shape, mean_rate / shape)

    cat_w = np.array([p.category_weights for p in PERSONAS])
    cum = np.cumsum(cat_w[persona], axis=1)
    pref_cat = np.stack([(rng.random((n, 1)) > cum).sum(axis=1) for _ in range(2)], axis=1)
    pref_cat = np.minimum(pref_cat, len(CATEGORIES) - 1)
    fav_brand = np.full((n, 2), -1, dtype=np.int64)
    loyal = np.flatnonzero(np.array([p.favourite_brand_prob for p in PERSONAS])[persona] > 0)
    for k in range(2):
        prod = cat.in_category(persona[loyal], pref_cat[loyal, k], rng)
        fav_brand[loyal, k] = cat.brand[prod]
    base = np.array([p.channel_probs for p in PERSONAS])[persona]
    g = rng.gamma(base * 12)  # a Dirichlet draw per customer, vectorised
    channel_probs = g / g.sum(axis=1, keepdims=True)
    devices = 1 + (rng.random(n) < 0.5)
    sentiment = np.clip(rng.normal(np.array([p.sentiment_mean for p in PERSONAS])[persona], 0.4), -1, 1)

    first, last, emails, typed, phones, cities, regions, countries, genders = [], [], [], [], [], [], [], [], []
    g_choices = ("female", "male", "other", "unknown")
    for i in range(n):
        cc = COUNTRY_CODES[country[i]]
        f, la, em = _name_and_email(cc, int(gidx[i]), rng)
        first.append(f)
        last.append(la)
        emails.append(em)
        typed.append(_typed_email(em, rng))
        phones.append(_phone(cc, rng))
        city, region = COUNTRIES[cc][2][int(rng.integers(len(COUNTRIES[cc][2])))]
        cities.append(city)
        regions.append(region)
        countries.append(_country_text(cc, rng))
        genders.append(g_choices[int(rng.choice(4, p=[0.52, 0.42, 0.02, 0.04]))])
    acq_cum = np.cumsum(ACQ_WEIGHTS[persona], axis=1)
    acq = np.minimum((rng.random((n, 1)) > acq_cum).sum(axis=1), len(ACQ) - 1)
    birth = (window.start // DAY - (rng.uniform(18, 70, n) * YEAR_DAYS)).astype(np.int64)
    consent0 = (rng.random(n) < CONSENT_RATE).astype(np.int64)
    written = np.where(pre, signup + (rng.random(n) * (window.start - HOUR - signup)).astype(np.int64), signup)

    miss = DIRT_RATES["missing"]["customers"]
    email_arr = blank(pa.array(typed, pa.string()), miss["email"], rng)
    true_email = [None if v is None else e for v, e in zip(email_arr.to_pylist(), emails)]
    crm = {
        "customer_id": fixed_ids("C", gidx, 8),
        "email": email_arr,
        "phone": blank(pa.array(phones, pa.string()), miss["phone"], rng),
        "first_name": blank(pa.array(first, pa.string()), miss["first_name"], rng),
        "last_name": blank(pa.array(last, pa.string()), miss["last_name"], rng),
        "gender": blank(pa.array(genders, pa.string()), miss["gender"], rng),
        "birth_date": blank(birth, miss["birth_date"], rng),
        "city": blank(pa.array(cities, pa.string()), miss["city"], rng),
        "region": blank(pa.array(regions, pa.string()), miss["region"], rng),
        "country": blank(pa.array(countries, pa.string()), miss["country"], rng),
        "signup_at": signup,
        "acquisition_channel": blank(pa.array(ACQ, pa.string()).take(pa.array(acq)), miss["acquisition_channel"], rng),
        "marketing_consent": consent0,
        "updated_at": written,
    }

    # Planted updates: a later version with a newer updated_at and one changed attribute.
    upd_lo = np.maximum(signup, window.start) + DAY
    can = upd_lo < window.end - HOUR
    upd = np.flatnonzero(can & (rng.random(n) < DIRT_RATES["customer_update"]))
    upd_at = upd_lo[upd] + (rng.random(len(upd)) * (window.end - HOUR - upd_lo[upd])).astype(np.int64)
    kinds = rng.integers(0, len(UPDATE_KINDS), len(upd))
    new = {k: (v.take(pa.array(upd)).to_pylist() if isinstance(v, pa.Array) else v[upd].copy()) for k, v in crm.items()}
    consent_final = consent0.copy()
    consent_changed_at = np.full(n, NULL, dtype=np.int64)
    for j, i in enumerate(upd):
        kind = UPDATE_KINDS[kinds[j]]
        cc = COUNTRY_CODES[country[i]]
        if kind == "email_case" and new["email"][j] is None:
            kind = "consent"
        if kind == "city":
            # A move to another city, or the same city retyped differently.
            places = [p for p in COUNTRIES[cc][2] if p[0] != new["city"][j]]
            city, region = places[int(rng.integers(len(places)))] if places else COUNTRIES[cc][2][0]
            if new["city"][j] in CITY_RETYPES and rng.random() < 0.3:
                city, region = CITY_RETYPES[new["city"][j]], new["region"][j]
            new["city"][j], new["region"][j] = city, region
        elif kind == "email_case":
            e = new["email"][j]
            new["email"][j] = e.upper() if e != e.upper() else e.lower()
        elif kind == "consent":
            new["marketing_consent"][j] = 1 - new["marketing_consent"][j]
            consent_final[i] = new["marketing_consent"][j]
            consent_changed_at[i] = upd_at[j]
        else:
            new["phone"][j] = _phone(cc, rng)
    new["updated_at"] = upd_at
    new = {k: (pa.array(v, pa.string()) if isinstance(crm[k], pa.Array) else v) for k, v in new.items()}
    frame = {k: (pa.concat_arrays([crm[k], new[k]]) if isinstance(crm[k], pa.Array) else np.concatenate([crm[k], new[k]]))
             for k in crm}
    delivery = np.maximum(frame["updated_at"] // DAY, window.first_day)
    return Customers(
        gidx=gidx, ids=crm["customer_id"], persona=persona, country=country, signup=signup, alive_until=alive_until,
        rate=rate, pref_cat=pref_cat, fav_brand=fav_brand, channel_probs=channel_probs, devices=devices,
        sentiment=sentiment, email=true_email, consent0=consent0, consent_final=consent_final,
        consent_changed_at=consent_changed_at, crm=frame, crm_delivery=delivery, crm_time=frame["updated_at"],
        n_updates=len(upd),
    )
