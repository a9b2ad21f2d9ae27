"""The customer-profile report and the audience exports, as plain Python (no Dagster).

``orchestration/defs/report`` wraps these in assets; like ``ml/``, everything here
can be imported, run by hand against a warehouse file and tested alone.
"""
