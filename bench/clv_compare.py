"""CLV fit: ml.clv against the `lifetimes` package on the same customer summaries.

``python -m bench.clv_compare export --database DB --out summary.csv`` writes the BG/NBD
summaries (frequency, recency, T in weeks, monetary_value) the pipeline's CLV asset fits,
from the pipeline's orders, with the pipeline's own functions.
``python -m bench.clv_compare fit --summary summary.csv`` times ml.clv's two fits and prints
JSON; bench/lifetimes_fit.py does the same with lifetimes in its own venv (it needs pandas < 3).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ORDERS_SQL = """
select customer_key, order_id, order_date, status, cast(net_revenue as double) as net_revenue
from marts.fct_orders where customer_key is not null order by customer_key, ordered_at, order_id
"""


def export(database: Path, out: Path) -> dict:
    import duckdb
    import pandas as pd

    from ml.clv import rfm_summary

    con = duckdb.connect(str(database), read_only=True)
    orders = con.execute(ORDERS_SQL).df()
    con.close()
    # As the CLV asset does: every order not cancelled is a purchase occasion, fitted through
    # the eve of the reference day (the day after the latest order).
    kept = orders[orders["status"] != "cancelled"].rename(columns={"order_date": "date", "net_revenue": "amount"})
    reference = pd.Timestamp(orders["order_date"].max()) + pd.Timedelta(days=1)
    summary = rfm_summary(kept[["customer_key", "date", "amount"]], reference - pd.Timedelta(days=1))
    summary.to_csv(out, index=False)
    return {"customers": len(summary), "repeaters": int((summary["frequency"] > 0).sum())}


def fit(summary_csv: Path) -> dict:
    import pandas as pd

    from ml.clv import fit_bgnbd, fit_gamma_gamma

    s = pd.read_csv(summary_csv)
    wall, cpu = time.perf_counter(), time.process_time()
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    bg_wall, bg_cpu = time.perf_counter() - wall, time.process_time() - cpu
    keep = (s["frequency"] > 0) & (s["monetary_value"] > 0)
    gg = fit_gamma_gamma(s.loc[keep, "frequency"], s.loc[keep, "monetary_value"])
    return {"bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "log_likelihood": bg.log_likelihood},
            "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.gamma, "log_likelihood": gg.log_likelihood},
            "bgnbd_fit_s": round(bg_wall, 3), "bgnbd_cpu_s": round(bg_cpu, 3),
            "fit_s": round(time.perf_counter() - wall, 3), "cpu_s": round(time.process_time() - cpu, 3),
            "customers": len(s), "repeaters": int(keep.sum())}


def log_likelihoods(summary_csv: Path, bgnbd: dict, gamma_gamma: dict) -> dict:
    """Both implementations' parameters scored by one likelihood (ml.clv's), so 'agree' means the same fit."""
    import numpy as np
    import pandas as pd

    from ml.clv import bgnbd as bg_mod
    from ml.clv import gamma_gamma as gg_mod

    s = pd.read_csv(summary_csv)
    keep = (s["frequency"] > 0) & (s["monetary_value"] > 0)
    bg_ll = float(np.sum(bg_mod.log_likelihood(bgnbd["r"], bgnbd["alpha"], bgnbd["a"], bgnbd["b"],
                                               s["frequency"].to_numpy(float), s["recency"].to_numpy(float),
                                               s["T"].to_numpy(float))))
    gg_ll = float(np.sum(gg_mod.log_likelihood(gamma_gamma["p"], gamma_gamma["q"], gamma_gamma["v"],
                                               s.loc[keep, "frequency"].to_numpy(float),
                                               s.loc[keep, "monetary_value"].to_numpy(float))))
    return {"bgnbd": bg_ll, "gamma_gamma": gg_ll}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.clv_compare")
    p.add_argument("command", choices=["export", "fit"])
    p.add_argument("--database", type=Path)
    p.add_argument("--summary", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result = export(args.database, args.out) if args.command == "export" else fit(args.summary)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
