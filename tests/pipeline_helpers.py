"""Small helpers the extractor tests share: run a source end to end, read the warehouse."""

from __future__ import annotations

from datetime import datetime

import duckdb

from extractors import pipeline, settings


def run(source: str, end: datetime, start: datetime | None = None, streams: list[str] | None = None):
    """Extract one source into a landing batch and load it, as the CLI does."""
    pipeline.extract(source, end=end, start=start, stream_names=streams, warehouse=settings.warehouse_path(),
                     landing_root=settings.landing_dir())
    return pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql).fetchall()
