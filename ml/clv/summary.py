"""Per-customer (frequency, recency, T, monetary_value) summaries.

Conventions follow Fader, Hardie & Lee (2005): purchases on the same calendar day
collapse into one transaction (a basket split across several orders is one
purchase occasion), the first purchase is not a "repeat", and times are measured
from each customer's first purchase in a chosen unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIME_UNIT_DAYS = {"days": 1.0, "weeks": 7.0}

SUMMARY_COLUMNS = ["customer_key", "frequency", "recency", "T", "monetary_value"]


def _unit_days(time_unit: str) -> float:
    try:
        return TIME_UNIT_DAYS[time_unit]
    except KeyError:
        raise ValueError(
            f"time_unit={time_unit!r} is not supported; use one of {sorted(TIME_UNIT_DAYS)}"
        ) from None


def _daily(transactions: pd.DataFrame, customer_col: str, date_col: str, amount_col: str) -> pd.DataFrame:
    missing = {customer_col, date_col, amount_col} - set(transactions.columns)
    if missing:
        raise KeyError(
            f"transactions frame lacks column(s) {sorted(missing)}; "
            f"has {list(transactions.columns)}. Pass customer_col/date_col/amount_col to map yours."
        )
    df = pd.DataFrame(
        {
            "customer_key": transactions[customer_col].to_numpy(),
            # Normalising to midnight makes same-day orders one occasion whatever the timestamps.
            "day": pd.to_datetime(transactions[date_col]).dt.normalize().to_numpy(),
            "amount": transactions[amount_col].astype(float).to_numpy(),
        }
    )
    return df.groupby(["customer_key", "day"], as_index=False, sort=True)["amount"].sum()


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end,
    time_unit: str = "weeks",
    customer_col: str = "customer_key",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Summarise transactions up to and including ``calibration_end``.

    Input columns: customer_key, date, amount (names configurable).
    Output columns: customer_key, frequency (repeat purchase days), recency (first to
    last purchase), T (first purchase to calibration_end), monetary_value (mean amount
    of the *repeat* purchases, 0 when there are none, as the Gamma-Gamma model expects).
    Customers whose first purchase is after ``calibration_end`` are absent.
    """
    _unit_days(time_unit)  # an unknown unit fails before any work
    end = pd.Timestamp(calibration_end).normalize()
    daily = _daily(transactions, customer_col, date_col, amount_col)
    daily = daily[daily["day"] <= end]
    if daily.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)

    g = daily.groupby("customer_key", sort=True)
    per_customer = pd.DataFrame({
        "first_day": g["day"].min(),
        "last_day": g["day"].max(),
        "purchase_days": g["day"].size(),
        "total_amount": g["amount"].sum(),
        "first_day_amount": g["amount"].first(),  # groupby keeps the sorted day order
    }).reset_index()
    return summary_from_purchase_days(per_customer, end, time_unit)


# What ``summary_from_purchase_days`` needs per customer: enough to compute the summary without the transactions,
# so a database can aggregate them and hand over one row per customer.
PURCHASE_DAY_COLUMNS = ["customer_key", "first_day", "last_day", "purchase_days", "total_amount", "first_day_amount"]


def summary_from_purchase_days(per_customer: pd.DataFrame, calibration_end, time_unit: str = "weeks") -> pd.DataFrame:
    """The ``rfm_summary`` of customers given by their purchase days up to ``calibration_end``.

    Input columns (``PURCHASE_DAY_COLUMNS``): customer_key, first_day and last_day (dates of the first
    and last purchase day), purchase_days (days with a purchase), total_amount (over all of them) and
    first_day_amount (spent on the first day). Rows come out sorted by customer_key.
    """
    missing = set(PURCHASE_DAY_COLUMNS) - set(per_customer.columns)
    if missing:
        raise KeyError(f"per-customer frame lacks column(s) {sorted(missing)}; has {list(per_customer.columns)}")
    unit = _unit_days(time_unit)
    end = pd.Timestamp(calibration_end).normalize()
    if per_customer.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = per_customer.sort_values("customer_key", kind="stable")
    first = pd.to_datetime(rows["first_day"]).dt.normalize()
    last = pd.to_datetime(rows["last_day"]).dt.normalize()
    frequency = (rows["purchase_days"].astype(int) - 1).to_numpy()
    repeat_total = (rows["total_amount"].astype(float) - rows["first_day_amount"].astype(float)).to_numpy()
    monetary = np.where(frequency > 0, repeat_total / np.clip(frequency, 1, None), 0.0)

    out = pd.DataFrame(
        {
            "customer_key": rows["customer_key"].to_numpy(),
            "frequency": frequency,
            "recency": ((last - first).dt.days / unit).to_numpy(),
            "T": ((end - first).dt.days / unit).to_numpy(),
            "monetary_value": monetary,
        }
    )
    return out.reset_index(drop=True)


def calibration_holdout_summary(
    transactions: pd.DataFrame,
    calibration_end,
    holdout_end,
    time_unit: str = "weeks",
    customer_col: str = "customer_key",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Calibration summary plus what actually happened in (calibration_end, holdout_end].

    Output columns: the ``rfm_summary`` columns, plus frequency_holdout (purchase
    days in the holdout; every one of them is a repeat purchase because the customer
    was already acquired) and duration_holdout (holdout length in ``time_unit``).
    """
    unit = _unit_days(time_unit)
    cal_end = pd.Timestamp(calibration_end).normalize()
    hold_end = pd.Timestamp(holdout_end).normalize()
    if hold_end <= cal_end:
        raise ValueError(f"holdout_end {hold_end.date()} must be after calibration_end {cal_end.date()}")

    cal = rfm_summary(transactions, cal_end, time_unit, customer_col, date_col, amount_col)
    daily = _daily(transactions, customer_col, date_col, amount_col)
    hold = daily[(daily["day"] > cal_end) & (daily["day"] <= hold_end)]
    return with_holdout(cal, hold.groupby("customer_key").size(), cal_end, hold_end, time_unit)


def with_holdout(calibration: pd.DataFrame, holdout_purchase_days: pd.Series, calibration_end, holdout_end,
                 time_unit: str = "weeks") -> pd.DataFrame:
    """A calibration ``rfm_summary`` plus each customer's purchase days in (calibration_end, holdout_end]
    (``holdout_purchase_days``, indexed by customer_key; customers absent bought nothing there).

    Adds frequency_holdout and duration_holdout, as ``calibration_holdout_summary`` returns them.
    Customers who first bought in the holdout are not in the calibration and stay out.
    """
    unit = _unit_days(time_unit)
    cal_end = pd.Timestamp(calibration_end).normalize()
    hold_end = pd.Timestamp(holdout_end).normalize()
    if hold_end <= cal_end:
        raise ValueError(f"holdout_end {hold_end.date()} must be after calibration_end {cal_end.date()}")
    out = calibration.copy()
    out["frequency_holdout"] = out["customer_key"].map(holdout_purchase_days).fillna(0).astype(int).to_numpy()
    out["duration_holdout"] = (hold_end - cal_end).days / unit
    return out


def holdout_by_frequency(
    holdout_summary: pd.DataFrame,
    predicted: np.ndarray,
    max_bucket: int = 7,
) -> pd.DataFrame:
    """Mean predicted vs actual holdout purchases by calibration frequency.

    ``predicted`` is aligned with the rows of ``holdout_summary`` (e.g. the BG/NBD
    conditional expectation over duration_holdout). Frequencies >= ``max_bucket``
    share the last bucket, as in Fader-Hardie-Lee's Figure 4, because few customers
    buy that often and per-value means would be noise.
    Output columns: frequency_bucket (str, e.g. "7+"), n_customers, actual, predicted.
    """
    bucket = holdout_summary["frequency"].clip(upper=max_bucket).astype(int)
    frame = pd.DataFrame(
        {
            "bucket": bucket.to_numpy(),
            "actual": holdout_summary["frequency_holdout"].astype(float).to_numpy(),
            "predicted": np.asarray(predicted, dtype=float),
        }
    )
    agg = frame.groupby("bucket", sort=True).agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    labels = [f"{b}+" if b == max_bucket else str(b) for b in agg.index]
    return pd.DataFrame(
        {
            "frequency_bucket": labels,
            "n_customers": agg["n_customers"].to_numpy(),
            "actual": agg["actual"].to_numpy(),
            "predicted": agg["predicted"].to_numpy(),
        }
    )
