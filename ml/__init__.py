"""Customer models for the warehouse.

Plain functions over pandas DataFrames and numpy arrays. Nothing here imports
Dagster or reads the warehouse: the orchestration layer reads marts, calls these
functions and writes their outputs to ``ml.*`` tables.
"""
