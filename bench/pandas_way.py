"""The customer marts the way an analyst would build them in pandas: read the files, groupby.

``python -m bench.pandas_way --landing DIR --out DIR`` builds fct_orders, dim_customers and
customer_rfm with the same rules as bench/sql/customer_marts.sql and writes them as Parquet
(the harness compares them with the SQL result). Written the idiomatic way, vectorised, with
no chunking: that is what "the pandas way" costs, and what it needs in memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def _files(landing: Path, source: str, ext: str) -> list[Path]:
    return sorted((landing / source).glob(f"*/*.{ext}"))


def _clean(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def _latest(df: pd.DataFrame, key: list[str], order: list[str]) -> pd.DataFrame:
    return df.sort_values(order, ascending=False, kind="stable").drop_duplicates(key, keep="first")


def _money(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").round(2)


def load_orders(landing: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(f).assign(filename=str(f), file_row_number=lambda d: np.arange(len(d)))
              for f in _files(landing, "orders", "parquet")]
    raw = pd.concat(frames, ignore_index=True)
    df = pd.DataFrame({"order_id": _clean(raw["order_id"]), "customer_id": _clean(raw["customer_id"]),
                       "ordered_at": pd.to_datetime(raw["ordered_at"], errors="coerce", utc=True),
                       "updated_at": pd.to_datetime(raw["updated_at"], errors="coerce", utc=True),
                       "channel": _clean(raw["channel"]).str.lower(), "status": _clean(raw["status"]).str.lower(),
                       "filename": raw["filename"], "file_row_number": raw["file_row_number"]})
    for col in ("subtotal_amount", "discount_amount", "shipping_amount", "total_amount"):
        df[col] = _money(raw[col])
    ok = (df["order_id"].notna() & df["customer_id"].notna() & df["ordered_at"].notna() & df["updated_at"].notna()
          & df["status"].isin(["completed", "cancelled", "returned"]) & df["channel"].isin(["web", "app", "store"]))
    for col in ("subtotal_amount", "discount_amount", "shipping_amount", "total_amount"):
        ok &= df[col] >= 0
    df = _latest(df[ok], ["order_id"], ["updated_at", "filename", "file_row_number"])
    df["order_date"] = df["ordered_at"].dt.tz_localize(None).dt.normalize()
    return df


def load_order_items(landing: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(f).assign(filename=str(f), file_row_number=lambda d: np.arange(len(d)))
              for f in _files(landing, "order_items", "parquet")]
    raw = pd.concat(frames, ignore_index=True)
    df = pd.DataFrame({"order_id": _clean(raw["order_id"]), "product_id": _clean(raw["product_id"]),
                       "line_number": pd.to_numeric(raw["line_number"], errors="coerce"),
                       "quantity": pd.to_numeric(raw["quantity"], errors="coerce"),
                       "unit_price": _money(raw["unit_price"]), "filename": raw["filename"],
                       "file_row_number": raw["file_row_number"]})
    ok = (df["order_id"].notna() & df["product_id"].notna() & (df["line_number"] >= 1) & (df["quantity"] >= 1)
          & (df["unit_price"] >= 0) & pd.to_datetime(raw["ordered_at"], errors="coerce", utc=True).notna())
    df = _latest(df[ok], ["order_id", "line_number"], ["filename", "file_row_number"])
    df["line_amount"] = (df["quantity"] * df["unit_price"]).round(2)
    return df


def load_customers(landing: Path) -> pd.DataFrame:
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False, on_bad_lines="skip").assign(filename=str(f))
              for f in _files(landing, "customers", "csv")]
    raw = pd.concat(frames, ignore_index=True)
    df = pd.DataFrame({"customer_id": _clean(raw["customer_id"]), "email": _clean(raw["email"]).str.lower(),
                       "first_name": _clean(raw["first_name"]), "last_name": _clean(raw["last_name"]),
                       "gender": _clean(raw["gender"]).str.lower(),
                       "birth_date": pd.to_datetime(raw["birth_date"], errors="coerce"),
                       "country": _clean(raw["country"]).str.upper(),
                       "signup_at": pd.to_datetime(raw["signup_at"], errors="coerce", utc=True, format="mixed"),
                       "updated_at": pd.to_datetime(raw["updated_at"], errors="coerce", utc=True, format="mixed"),
                       "marketing_consent": _clean(raw["marketing_consent"]).str.lower(),
                       "filename": raw["filename"]})
    ok = (df["customer_id"].notna() & df["signup_at"].notna() & df["updated_at"].notna()
          & df["marketing_consent"].isin(["true", "false"]))
    df = _latest(df[ok], ["customer_id"], ["updated_at", "filename"])
    df["marketing_consent"] = df["marketing_consent"] == "true"
    return df


def build(landing: Path) -> dict[str, pd.DataFrame]:
    orders, items, customers = load_orders(landing), load_order_items(landing), load_customers(landing)
    lines = items.groupby("order_id").agg(line_count=("line_number", "size"), item_quantity=("quantity", "sum"),
                                          lines_subtotal_amount=("line_amount", "sum"))
    fct = orders.merge(lines, left_on="order_id", right_index=True, how="left")
    fct[["line_count", "item_quantity", "lines_subtotal_amount"]] = (
        fct[["line_count", "item_quantity", "lines_subtotal_amount"]].fillna(0))
    fct["net_revenue"] = np.where(fct["status"] == "completed", fct["subtotal_amount"] - fct["discount_amount"], 0.0)

    summary = fct.groupby("customer_id").agg(
        first_order_date=("order_date", "min"), last_order_date=("order_date", "max"),
        lifetime_order_count=("order_id", "size"),
        completed_order_count=("status", lambda s: (s == "completed").sum()),
        lifetime_net_revenue=("net_revenue", "sum"))
    dim = customers.merge(summary, left_on="customer_id", right_index=True, how="left")
    counts = ["lifetime_order_count", "completed_order_count", "lifetime_net_revenue"]
    dim[counts] = dim[counts].fillna(0)

    reference = fct["order_date"].max()
    done = fct[(fct["status"] == "completed") & (fct["order_date"] <= reference)]
    rfm = done.groupby("customer_id").agg(first_order_date=("order_date", "min"),
                                          last_order_date=("order_date", "max"),
                                          frequency=("order_id", "size"), monetary=("net_revenue", "sum"))
    rfm["recency_days"] = (reference - rfm["last_order_date"]).dt.days
    rfm["monetary"] = rfm["monetary"].round(2)
    # SQL percent_rank: (rank - 1) / (n - 1), ties sharing the lowest rank.
    n = len(rfm)
    for col, score, ascending in (("recency_days", "r_score", False), ("frequency", "f_score", True),
                                  ("monetary", "m_score", True)):
        pr = (rfm[col].rank(method="min", ascending=ascending) - 1) / max(n - 1, 1)
        rfm[score] = np.minimum(5, 1 + np.floor(5 * pr)).astype(int)
    return {"fct_orders": fct, "dim_customers": dim, "customer_rfm": rfm.reset_index()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pandas_way")
    p.add_argument("--landing", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in build(args.landing).items():
        cols = [c for c in frame.columns if c not in ("filename", "file_row_number")]
        frame[cols].to_parquet(args.out / f"{name}.parquet", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
