"""Data quality gate (Great Expectations) and write-audit-publish for the DuckDB warehouse.

Kept import-free: ``expectations.gate`` imports Great Expectations only when it runs,
and ``expectations.publish`` needs only duckdb.
"""
