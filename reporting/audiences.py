"""Who is in each audience: the rules, as SQL over the marts and model outputs.

Consent and contact details are joined on later, in ``exports``, through
``contacts.contact_details``; the rules here never see an e-mail address.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import duckdb
import pandas as pd


@dataclass(frozen=True)
class AudienceRules:
    # Churn-risk list: customers still buying whose churn probability is at least this (None: the mean
    # over every scored customer, i.e. above-average risk)...
    churn_min_probability: float | None = None
    churn_top_share: float = 0.10  # ...among the riskiest this share of the customers still buying...
    churn_top_n: int | None = 500  # ...and at most this many, riskiest first (None: no cap)
    upsell_products: int = 3  # recommended products per upsell customer

    def __post_init__(self):
        if self.churn_min_probability is not None and not 0 <= self.churn_min_probability <= 1:
            raise ValueError(f"churn_min_probability={self.churn_min_probability}: a probability, 0 to 1 "
                             "(or null for the scored customers' mean)")
        if not 0 < self.churn_top_share <= 1:
            raise ValueError(f"churn_top_share={self.churn_top_share}: a share above 0 and at most 1 (0.10 = 10%)")
        if self.churn_top_n is not None and self.churn_top_n < 1:
            raise ValueError(f"churn_top_n={self.churn_top_n}: at least 1, or null for no cap")
        if self.upsell_products < 1:
            raise ValueError(f"upsell_products={self.upsell_products}: at least 1")


# A calibrated churn model gives customers who still buy low probabilities: an absolute bar such as 0.5
# picked 4 of 5,685 of them on the 10k demo. Risk relative to the scored customers (above their mean,
# the riskiest share) gives marketing a list of a useful size on any data.
def resolve_rules(con, rules: AudienceRules) -> AudienceRules:
    """``rules`` with the churn threshold filled in from the data when it is left to the default."""
    if rules.churn_min_probability is not None:
        return rules
    (mean,) = con.execute("select avg(churn_probability) from marts.customer_360").fetchone()
    # No customer scored yet: nobody can be at risk by the model, whatever the threshold.
    return replace(rules, churn_min_probability=round(float(mean), 4) if mean is not None else 1.0)


@dataclass
class Audience:
    name: str
    definition: str
    members: pd.DataFrame  # customer_key + the columns the CSV adds after the contact fields
    tags: str


# Every audience carries these from customer_360, for the marketing tool's merge fields.
PROFILE_SQL = """
select customer_key, lifecycle_stage, rfm_segment, segment_id, segment_name_en, segment_name_zh,
       round(churn_probability, 4) as churn_probability, round(clv, 2) as clv
from marts.customer_360
"""


def _profile(con) -> pd.DataFrame:
    return con.execute(PROFILE_SQL).df()


def segment_audiences(con) -> list[Audience]:
    profile = _profile(con)
    out = []
    for (segment_id, name_en), members in profile.groupby(["segment_id", "segment_name_en"], dropna=False):
        # Customers the segmentation has not scored yet (signed up after its last run) have no
        # segment: they are not an audience of their own, and NA must not reach an if.
        if pd.isna(segment_id):
            continue
        slug = "prospects" if segment_id == -1 else f"{int(segment_id)}_" + "".join(
            ch if ch.isalnum() else "_" for ch in str(name_en).lower()).strip("_")
        out.append(Audience(f"segment_{slug}",
                            f"Every customer in model segment {int(segment_id)} ({name_en}) of ml.customer_segments.",
                            members.sort_values("customer_key"), f"segment:{name_en}"))
    return out


def churn_risk(con, rules: AudienceRules) -> Audience:
    """``rules`` resolved (``resolve_rules``): the threshold is a number here."""
    profile = _profile(con)
    # unscored customers (NA probability) are not at risk by this rule and not counted in the share
    still_buying = profile[profile["lifecycle_stage"].isin(["new", "active", "reactivated"])
                           & profile["churn_probability"].notna()]
    ranked = still_buying.sort_values(["churn_probability", "customer_key"], ascending=[False, True])
    members = ranked.head(math.ceil(len(ranked) * rules.churn_top_share))
    members = members[members["churn_probability"] >= rules.churn_min_probability]
    if rules.churn_top_n is not None:
        members = members.head(rules.churn_top_n)
    cap = f", at most {rules.churn_top_n}" if rules.churn_top_n is not None else ""
    return Audience("churn_risk",
                    f"Customers still buying (lifecycle new, active or reactivated) in the riskiest "
                    f"{rules.churn_top_share:.0%} of them by ml.churn_scores churn_probability, with a probability "
                    f"of at least {rules.churn_min_probability:.4f}{cap}; riskiest first.",
                    members, "churn-risk")


def win_back(con) -> Audience:
    profile = _profile(con)
    members = profile[profile["lifecycle_stage"].isin(["dormant", "churned"])]
    members = members.sort_values(["clv", "customer_key"], ascending=[False, True], na_position="last")
    return Audience("win_back",
                    "Customers who bought before but not for 60+ days (lifecycle dormant or churned in "
                    "marts.customer_lifecycle); highest predicted CLV first.", members, "win-back")


def upsell(con, rules: AudienceRules) -> Audience:
    profile = _profile(con)
    buyers = profile[profile["clv"].notna()]
    median_clv = float(buyers["clv"].median()) if len(buyers) else 0.0
    members = profile[profile["lifecycle_stage"].isin(["active", "reactivated"])
                      & (profile["churn_probability"] < rules.churn_min_probability).fillna(False)
                      & (profile["clv"] >= median_clv).fillna(False)]
    products = con.execute(
        """
        select r.customer_key, string_agg(coalesce(p.product_name, r.product_id), '; ' order by r.rank) as products
        from ml.recommendations r left join marts.dim_products p using (product_id)
        where r.rank <= ? group by 1
        """, [rules.upsell_products]).df()
    members = members.merge(products.rename(columns={"products": "recommended_products"}), on="customer_key",
                            how="left").sort_values(["clv", "customer_key"], ascending=[False, True])
    return Audience("upsell",
                    f"Active or reactivated customers with churn_probability below {rules.churn_min_probability:.4f} "
                    f"and CLV at or above the buyers' median ({median_clv:,.2f}), with the top "
                    f"{rules.upsell_products} products of ml.recommendations (never one they already bought).",
                    members, "upsell")


def all_audiences(con: duckdb.DuckDBPyConnection, rules: AudienceRules) -> list[Audience]:
    rules = resolve_rules(con, rules)
    return [churn_risk(con, rules), win_back(con), upsell(con, rules), *segment_audiences(con)]
