"""The four latent customer personas and how each one behaves.

Each field is a knob the simulators read; truth.json records the whole
table, so a segmentation or CLV model can be scored against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

CATEGORIES = ("grocery", "household", "beauty", "fashion", "electronics", "home", "sports")


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    orders_per_year: float  # mean Poisson purchase rate while alive
    rate_shape: float  # gamma shape of the customer-level rate (lower = more heterogeneous)
    mean_lifetime_days: float  # mean of the exponential lifetime after signup
    channel_probs: tuple[float, float, float]  # web, app, store
    category_weights: tuple[float, ...]  # aligned with CATEGORIES
    price_tier_weights: tuple[float, float, float]  # budget, mid, premium
    extra_quantity: float  # quantity = 1 + Poisson(extra_quantity)
    extra_lines: float  # lines per order = 1 + Poisson(extra_lines)
    discount_prob: float
    discount_pct: tuple[float, float]  # uniform range of the order discount
    favourite_brand_prob: float  # share of anchor items taken from the customer's favourite brands
    browse_sessions_per_year: float  # sessions without a purchase
    views_per_session: float  # extra product views in a browsing session
    ticket_rate_per_year: float
    survey_prob: float  # chance of answering the relationship survey in a year
    nps_mean: float
    sentiment_mean: float  # latent tone of free text, -1 .. 1
    social_prob: float  # chance of posting about the brand in a year


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "price_sensitive", 0.35, 24.5, 2.5, 2000, (0.25, 0.60, 0.15),
        (0.34, 0.30, 0.22, 0.05, 0.02, 0.05, 0.02), (0.70, 0.25, 0.05),
        1.2, 1.6, 0.65, (0.05, 0.20), 0.0, 2.0, 2.0, 0.25, 0.10, 7.0, 0.0, 0.02,
    ),
    Persona(
        "brand_loyal", 0.25, 14.5, 4.0, 3000, (0.25, 0.15, 0.60),
        (0.08, 0.06, 0.26, 0.26, 0.10, 0.18, 0.06), (0.05, 0.30, 0.65),
        0.3, 1.4, 0.10, (0.05, 0.10), 0.75, 1.5, 2.0, 0.15, 0.14, 8.6, 0.5, 0.03,
    ),
    Persona(
        "trend_seeker", 0.25, 14.0, 1.5, 1400, (0.60, 0.30, 0.10),
        (0.02, 0.02, 0.12, 0.42, 0.34, 0.04, 0.04), (0.20, 0.50, 0.30),
        0.1, 1.5, 0.25, (0.05, 0.15), 0.0, 6.0, 5.0, 0.20, 0.08, 7.6, 0.2, 0.08,
    ),
    Persona(
        "occasional", 0.15, 3.6, 1.2, 1500, (0.35, 0.15, 0.50),
        (0.03, 0.07, 0.05, 0.10, 0.40, 0.30, 0.05), (0.15, 0.45, 0.40),
        0.2, 1.5, 0.15, (0.05, 0.10), 0.0, 1.0, 3.0, 0.30, 0.05, 6.8, -0.2, 0.01,
    ),
)

PERSONA_NAMES = tuple(p.name for p in PERSONAS)
PERSONA_SHARES = tuple(p.share for p in PERSONAS)


def as_table() -> list[dict]:
    rows = []
    for p in PERSONAS:
        d = asdict(p)
        d["channel_probs"] = dict(zip(("web", "app", "store"), p.channel_probs))
        d["category_weights"] = dict(zip(CATEGORIES, p.category_weights))
        d["price_tier_weights"] = dict(zip(("budget", "mid", "premium"), p.price_tier_weights))
        rows.append(d)
    return rows
