"""Benchmarks: per-stage wall time, CPU time and peak memory, against the alternatives, in one run.

``python -m bench run --scale M`` (or ``make bench SCALE=M``); see README "Benchmarks".
"""
