"""Extract and load one source: the steps the CLI and the Airflow DAG share.

``extract`` does the HTTP work (parallel across streams and accounts, bounded
by the platform's concurrency limit) into a landing batch and opens the
warehouse only to read the saved cursors. ``load`` is the single writer.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from extractors.connections import get_connection
from extractors.errors import ExtractError, ForbiddenError, PartialFailure
from extractors.landing import LandingBatch, complete_batches, remove_interrupted
from extractors.loader import LoadResult, load_batch, read_state
from extractors.sources import Source, get_source
from extractors.streams import Stream, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    stream: Stream
    account: str
    window: Window


def plan(source: Source, streams: list[Stream], state: dict, conn, *, start: datetime | None, end: datetime) -> list[Unit]:
    """Each unit's window: an explicit start wins; else the saved cursor minus the
    stream's lookback; else the source's first-run start (None = read everything); never
    further back than the platform serves the stream (its max_history)."""
    units = []
    for stream in streams:
        for account in source.accounts(conn, stream):
            if start is not None:
                unit_start = start
            elif (stream.name, account) in state:
                # An older interval run again (cursor past its end) re-reads its own lookback.
                unit_start = min(state[(stream.name, account)], end) - stream.lookback
            else:
                unit_start = source.initial_start(conn, stream, end)
            if stream.max_history is not None:
                unit_start = max(unit_start or end - stream.max_history, end - stream.max_history)
            units.append(Unit(stream, account, Window(unit_start, end)))
    return units


def extract(source_name: str, *, end: datetime, start: datetime | None = None, stream_names: list[str] | None = None,
            warehouse: Path, landing_root: Path) -> Path:
    """Read the source's APIs into a landing batch; returns the batch folder (with its manifest)."""
    source = get_source(source_name)
    streams = [source.stream(n) for n in stream_names] if stream_names else list(source.streams)
    conn = get_connection(source.conn_id)
    units = plan(source, streams, read_state(warehouse, source.name), conn, start=start, end=end)
    accounts = {unit.account for unit in units}
    remove_interrupted(landing_root, source.name)
    client = source.client(conn)
    batch = LandingBatch(landing_root, source.name)
    failed: dict[str, str] = {}  # account -> reason
    skipped: dict[str, str] = {}  # "stream/account" -> reason, for optional streams the platform refused

    def run(unit: Unit) -> None:
        if unit.account in failed or f"{unit.stream.name}/{unit.account}" in skipped:
            return
        writer = batch.unit(unit.stream.name, unit.account, unit.window.start, unit.window.end)
        window_text = f"{unit.window.start:%Y-%m-%d %H:%M} .. {unit.window.end:%Y-%m-%d %H:%M}" if unit.window.start else f"all .. {unit.window.end:%Y-%m-%d %H:%M}"
        log.info("%s %s [%s]: reading %s", source.name, unit.stream.name, unit.account, window_text)
        for records in source.read(client, conn, unit.stream, unit.account, unit.window):
            writer.write_page(records)
            # Every page at debug level; every tenth at info, so progress shows without flooding.
            log.log(logging.INFO if writer.unit.pages % 10 == 0 else logging.DEBUG, "%s %s [%s]: page %d, %d records so far",
                    source.name, unit.stream.name, unit.account, writer.unit.pages, writer.unit.records)
        log.info("%s %s [%s]: done, %d records in %d pages", source.name, unit.stream.name, unit.account,
                 writer.unit.records, writer.unit.pages)

    try:
        with ThreadPoolExecutor(max_workers=source.max_concurrency, thread_name_prefix=source.name) as pool:
            futures = [(unit, pool.submit(run, unit)) for unit in units]
            for unit, future in futures:
                try:
                    future.result()
                except ForbiddenError as exc:
                    if unit.stream.optional:
                        # Not in this account's plan: the rest of the account loads. No unit, so no
                        # cursor: once the platform allows it, the next run reads its history.
                        log.warning("%s %s [%s]: skipped, the other streams load: %s", source.name, unit.stream.name,
                                    unit.account, exc)
                        skipped[f"{unit.stream.name}/{unit.account}"] = str(exc)
                        continue
                    # One account without access must not stop the others: skip it, report it.
                    log.error("%s", exc)
                    failed[unit.account] = str(exc)
        if failed and len(failed) == len(accounts):
            raise ForbiddenError(next(iter(failed.values())))
        # Units of a failed account or a skipped stream may hold some pages: drop them so nothing half-loads.
        batch.units = [u for u in batch.units if u.account_id not in failed and f"{u.stream}/{u.account_id}" not in skipped]
        return batch.commit(failed, skipped)
    except BaseException:
        batch.discard()
        raise


def load(source_name: str, *, warehouse: Path, landing_root: Path) -> list[LoadResult]:
    """Load every complete batch of a source, oldest first (an earlier crashed run's too)."""
    results = [load_batch(batch_dir, warehouse) for batch_dir in complete_batches(landing_root, source_name)]
    for result in results:
        if result.failed_accounts:
            raise PartialFailure(f"{source_name}: loaded every account except {', '.join(sorted(result.failed_accounts))}: "
                                 + "; ".join(result.failed_accounts.values()))
    return results


__all__ = ["ExtractError", "extract", "load", "plan"]
