"""Data-quality gates: expectation suites from ``expectations/`` run as blocking asset checks."""
