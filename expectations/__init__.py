"""Data quality gate (Great Expectations) for the DuckDB build warehouse.

Kept import-free: ``expectations.gate`` imports Great Expectations only when it runs.
Publishing what passed lives in ``funnelhouse.publish``.
"""
