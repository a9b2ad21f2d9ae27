"""Fit BG/NBD and Gamma-Gamma with the `lifetimes` package; run by bench/.venv-lifetimes's python.

Standalone on purpose (no project imports): lifetimes 0.11 needs pandas < 3 and numpy < 2,
so it lives in its own venv. Prints the parameters and the fit time as JSON.
"""

import json
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

s = pd.read_csv(sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
bg_wall, bg_cpu = time.perf_counter() - wall, time.process_time() - cpu
keep = (s["frequency"] > 0) & (s["monetary_value"] > 0)
gg = GammaGammaFitter(penalizer_coef=0.0).fit(s.loc[keep, "frequency"], s.loc[keep, "monetary_value"])
print(json.dumps({
    "bgnbd": {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")},
    "gamma_gamma": {k: float(gg.params_[k]) for k in ("p", "q", "v")},
    "bgnbd_fit_s": round(bg_wall, 3), "bgnbd_cpu_s": round(bg_cpu, 3),
    "fit_s": round(time.perf_counter() - wall, 3), "cpu_s": round(time.process_time() - cpu, 3),
    "customers": len(s), "repeaters": int(keep.sum()),
}))
