"""Recommended action per segment, decided by stated rules on the segment's own figures.

The rules are printed in the report next to the result, so a reader can check each
decision against the numbers on the persona card.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

PROSPECT_SEGMENT = -1
# A segment is "lapsing" when this share of it has gone 60+ days without buying.
LAPSED_SHARE_WIN_BACK = 0.25
ACTIONS = ("win_back", "retain", "upsell", "nurture")

ACTION_NAMES = {
    "win_back": {"zh": "挽回", "en": "Win back"}, "retain": {"zh": "保留", "en": "Retain"},
    "upsell": {"zh": "追加销售", "en": "Upsell"}, "nurture": {"zh": "培育", "en": "Nurture"},
}
RULES = {
    "win_back": {"zh": f"挽回：沉睡或流失客户占比 ≥ {LAPSED_SHARE_WIN_BACK:.0%}。",
                 "en": f"Win back: {LAPSED_SHARE_WIN_BACK:.0%} or more of the segment is dormant or churned."},
    "retain": {"zh": "保留：平均流失概率高于全体已购客户，且平均 CLV 不低于全体平均。",
               "en": "Retain: mean churn probability above all buyers' and mean CLV at least all buyers'."},
    "upsell": {"zh": "追加销售：平均 CLV 不低于全体平均，且流失概率不高于全体。",
               "en": "Upsell: mean CLV at least all buyers' and churn probability not above theirs."},
    "nurture": {"zh": "培育：其余客户群（价值偏低或尚未购买），以首购 / 复购激励培养。",
                "en": "Nurture: every other segment (lower value, or no purchase yet): first or repeat purchase offers."},
}


@dataclass(frozen=True)
class SegmentAction:
    segment_id: int
    action: str
    reason: dict  # lang -> text with the figures the rule used


def decide(outcomes: pd.DataFrame) -> list[SegmentAction]:
    """One action per row of ``segment_outcomes`` (segment_id, lapsed_share, mean_churn_probability, mean_clv, customers)."""
    buyers = outcomes[outcomes["segment_id"] != PROSPECT_SEGMENT]
    weights = buyers["customers"].astype(float)
    overall_churn = float((buyers["mean_churn_probability"].fillna(0) * weights).sum() / max(weights.sum(), 1))
    overall_clv = float((buyers["mean_clv"].fillna(0) * weights).sum() / max(weights.sum(), 1))
    decisions = []
    for row in outcomes.itertuples(index=False):
        churn = float(row.mean_churn_probability) if pd.notna(row.mean_churn_probability) else None
        clv = float(row.mean_clv) if pd.notna(row.mean_clv) else None
        lapsed = float(row.lapsed_share)
        if row.segment_id == PROSPECT_SEGMENT or churn is None or clv is None:
            action = "nurture"
        elif lapsed >= LAPSED_SHARE_WIN_BACK:
            action = "win_back"
        elif churn > overall_churn and clv >= overall_clv:
            action = "retain"
        elif clv >= overall_clv:
            action = "upsell"
        else:
            action = "nurture"
        reason = {
            "zh": f"沉睡/流失 {lapsed:.0%}；流失概率 {_pct(churn)}（全体 {overall_churn:.1%}）；"
                  f"CLV {_money(clv)}（全体 {overall_clv:,.0f}）",
            "en": f"dormant/churned {lapsed:.0%}; churn probability {_pct(churn)} (all buyers {overall_churn:.1%}); "
                  f"CLV {_money(clv)} (all buyers {overall_clv:,.0f})",
        }
        decisions.append(SegmentAction(int(row.segment_id), action, reason))
    return decisions


def _pct(value):
    return "–" if value is None else f"{value:.1%}"


def _money(value):
    return "–" if value is None else f"{value:,.0f}"
