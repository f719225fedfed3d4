"""Extract and load one source: the steps the CLI and the Airflow DAG share.

``extract`` does the HTTP work (parallel across streams and accounts, bounded
by the platform's concurrency limit) into a landing batch, planning from the
cursor copy in the landing storage (never waiting for the warehouse). ``load``
is the single writer.

A unit (one stream of one account over one window) is what fails alone. A unit the
platform refuses, or that keeps failing after the client's retries, is left out of the
batch with its reason; every other unit lands and loads, and only the units that loaded
move their cursors. So the next run, which plans from the cursors, reads the failed unit
again from where it stood. Until a batch is loaded its units do not move a cursor, so an
extract planned while a batch waits for its load (a retry of the extract task) skips the
units that batch already holds: it reads only what failed, and nothing is read twice.
Credentials, configuration and a retired API version are not a unit's failure: they stop
the source (nothing lands) because every unit would fail the same way.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from extractors.connections import get_connection
from extractors.errors import AuthError, ConfigError, ExtractError, ForbiddenError, PartialFailure
from extractors.landing import FailedUnit, LandingBatch, Manifest, Note, complete_batches, remove_interrupted
from extractors.loader import LoadResult, load_batch, saved_cursors
from extractors.sources import Source, get_source
from extractors.streams import Stream, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    stream: Stream
    account: str
    window: Window

    @property
    def key(self) -> str:
        return f"{self.stream.name}/{self.account}"


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


def _awaiting_load(landing_root: Path, source: str) -> dict[tuple[str, str], list[tuple[Window, str]]]:
    """(stream, account) -> the windows (and batch ids) landed whole in batches not loaded yet."""
    landed: dict[tuple[str, str], list[tuple[Window, str]]] = {}
    for batch_dir in complete_batches(landing_root, source):
        manifest = Manifest.read(batch_dir)
        for u in manifest.units:
            window = Window(
                datetime.fromisoformat(u.window_start) if u.window_start else None, datetime.fromisoformat(u.window_end)
            )
            landed.setdefault((u.stream, u.account_id), []).append((window, manifest.batch_id))
    return landed


def _covered_by(unit: Unit, landed: list[tuple[Window, str]]) -> str | None:
    """The batch that already holds this unit's whole window, if one does."""
    for window, batch_id in landed:
        starts_early_enough = window.start is None or (unit.window.start is not None and window.start <= unit.window.start)
        if starts_early_enough and window.end >= unit.window.end:
            return batch_id
    return None


def extract(
    source_name: str,
    *,
    end: datetime,
    start: datetime | None = None,
    stream_names: list[str] | None = None,
    warehouse: Path,
    landing_root: Path,
) -> Path:
    """Read the source's APIs into a landing batch; returns the batch folder (with its manifest).

    Units that fail are listed in the manifest (``failed_units``), not raised: the batch of the
    others is committed, and ``raise_for_failed_units`` (the DAG's extract task) or ``load`` reports
    them, also when every unit failed. Raises on a failure every unit would share (credentials,
    configuration, a retired API version): then nothing lands.
    """
    source = get_source(source_name)
    streams = [source.stream(n) for n in stream_names] if stream_names else list(source.streams)
    conn = get_connection(source.conn_id, needs_password=source.needs_password)
    cursors, planned_from = saved_cursors(landing_root, warehouse, source.name)
    units = plan(source, streams, cursors, conn, start=start, end=end)
    remove_interrupted(landing_root, source.name)
    if start is None:  # an explicit start is a request to read that window again, landed or not
        landed = _awaiting_load(landing_root, source.name)
        planned, units = units, []
        for unit in planned:
            if (batch_id := _covered_by(unit, landed.get((unit.stream.name, unit.account), []))) is not None:
                log.info(
                    "%s %s [%s]: already landed in batch %s (not loaded yet); not read again",
                    source.name,
                    unit.stream.name,
                    unit.account,
                    batch_id,
                )
            else:
                units.append(unit)
    client = source.client(conn)
    batch = LandingBatch(landing_root, source.name, planned_from=planned_from)
    failed: dict[str, tuple[Unit, ExtractError]] = {}  # unit key -> the unit and why it failed
    skipped: dict[str, str] = {}  # "stream/account" -> reason, for optional streams the platform refused
    forbidden: dict[str, str] = {}  # account -> the refusal that showed the token may not read it
    stop = threading.Event()  # a failure every unit shares: start no more units

    def run(unit: Unit) -> None:
        if stop.is_set() or unit.key in skipped:
            return
        if unit.account in forbidden:  # its other units would be refused the same way: send nothing
            raise ForbiddenError(forbidden[unit.account])
        writer = batch.unit(unit.stream.name, unit.account, unit.window.start, unit.window.end)
        window_text = (
            f"{unit.window.start:%Y-%m-%d %H:%M} .. {unit.window.end:%Y-%m-%d %H:%M}"
            if unit.window.start
            else f"all .. {unit.window.end:%Y-%m-%d %H:%M}"
        )
        log.info("%s %s [%s]: reading %s", source.name, unit.stream.name, unit.account, window_text)
        try:
            for records in source.read(client, conn, unit.stream, unit.account, unit.window):
                if isinstance(records, Note):  # a remark on the unit (e.g. GA4 rows still folded), kept in the manifest
                    log.warning("%s %s [%s]: %s", source.name, unit.stream.name, unit.account, records)
                    writer.unit.notes.append(str(records))
                    continue
                writer.write_page(records)
                # Every page at debug level; every tenth at info, so progress shows without flooding.
                log.log(
                    logging.INFO if writer.unit.pages % 10 == 0 else logging.DEBUG,
                    "%s %s [%s]: page %d, %d records so far",
                    source.name,
                    unit.stream.name,
                    unit.account,
                    writer.unit.pages,
                    writer.unit.records,
                )
        except BaseException as exc:
            batch.drop(writer)  # a unit read in part must not load: out of the manifest, its cursor stays
            if isinstance(exc, (ConfigError, AuthError)) or not isinstance(exc, ExtractError):
                stop.set()  # every unit would fail so (or a bug): the source stops
            elif isinstance(exc, ForbiddenError) and not unit.stream.optional:
                forbidden.setdefault(unit.account, str(exc))
            raise
        log.info(
            "%s %s [%s]: done, %d records in %d pages",
            source.name,
            unit.stream.name,
            unit.account,
            writer.unit.records,
            writer.unit.pages,
        )

    try:
        with ThreadPoolExecutor(max_workers=source.max_concurrency, thread_name_prefix=source.name) as pool:
            futures = [(unit, pool.submit(run, unit)) for unit in units]
            for unit, future in futures:
                try:
                    future.result()
                except (ConfigError, AuthError):
                    raise
                except ForbiddenError as exc:
                    if unit.stream.optional and unit.account not in forbidden:
                        # Not in this account's plan: the rest of the account loads. No unit, so no
                        # cursor: once the platform allows it, the next run reads its history.
                        log.warning(
                            "%s %s [%s]: skipped, the other streams load: %s", source.name, unit.stream.name, unit.account, exc
                        )
                        skipped[unit.key] = str(exc)
                        continue
                    failed[unit.key] = (unit, exc)
                    log.error(
                        "%s %s [%s]: failed, the other units load and this one keeps its cursor: %s",
                        source.name,
                        unit.stream.name,
                        unit.account,
                        exc,
                    )
                except ExtractError as exc:
                    failed[unit.key] = (unit, exc)
                    log.error(
                        "%s %s [%s]: failed, the other units load and this one keeps its cursor: %s",
                        source.name,
                        unit.stream.name,
                        unit.account,
                        exc,
                    )
        # Committed even when every unit failed: the manifest is the report the load (or the DAG's extract
        # task) turns into a failure, after loading whatever earlier batches hold.
        return batch.commit(
            [
                FailedUnit(
                    u.stream.name,
                    u.account,
                    u.window.start.isoformat() if u.window.start else None,
                    u.window.end.isoformat(),
                    str(exc),
                    exc.retryable,
                )
                for u, exc in failed.values()
            ],
            skipped,
        )
    except BaseException:
        batch.discard()
        raise


def failure_line(
    source: str, failed: dict[str, str], done: set[str], failed_accounts: dict[str, str] | None = None, verb: str = "loaded"
) -> str:
    """One line for the units that failed ("stream/account" -> reason), naming what was done (loaded, or read)."""
    failed_accounts = failed_accounts or {}
    accounts = {key.split("/", 1)[1] for key in failed} | set(failed_accounts)
    whole = {a for a in accounts if not any(key.split("/", 1)[1] == a for key in done)}
    reasons = "; ".join(dict.fromkeys([*failed.values(), *failed_accounts.values()]))
    if not done:
        head = f"nothing was {verb}, every unit failed"
    elif all(key.split("/", 1)[1] in whole for key in failed):
        head = f"{verb} every account except {', '.join(sorted(whole))}"
    else:
        head = f"{verb} every unit except {', '.join(sorted(failed))}"
    return f"{source}: {head}: {reasons} (failed units keep their cursors: the next run reads them)"


def raise_for_failed_units(batch_dir: Path) -> None:
    """After a batch is committed: raise if some of its units failed (retryable unless every failure is
    a refusal that would be repeated). A retry's extract skips what this batch holds."""
    manifest = Manifest.read(batch_dir)
    if manifest.failed_units:
        reasons = {f.key: f.reason for f in manifest.failed_units}
        raise PartialFailure(
            failure_line(manifest.source, reasons, {f"{u.stream}/{u.account_id}" for u in manifest.units}, verb="read"),
            failed=reasons,
            retryable=any(f.retryable for f in manifest.failed_units),
        )


def load(source_name: str, *, warehouse: Path, landing_root: Path) -> list[LoadResult]:
    """Load every complete batch of a source, oldest first (an earlier crashed run's too).

    Then raises ``PartialFailure`` (not retryable: there is nothing more to load) for every unit
    that failed and that no later batch of this load read; the others are loaded by then."""
    results = [load_batch(batch_dir, warehouse) for batch_dir in complete_batches(landing_root, source_name)]
    outstanding: dict[str, str] = {}
    outstanding_accounts: dict[str, str] = {}
    loaded: set[str] = set()
    for result in results:
        for key in result.units:  # a later batch that read the unit settles its earlier failure
            outstanding.pop(key, None)
            outstanding_accounts.pop(key.split("/", 1)[1], None)
        loaded.update(result.units)
        outstanding.update(result.failed_units)
        outstanding_accounts.update(result.failed_accounts)
    if outstanding or outstanding_accounts:
        raise PartialFailure(
            failure_line(source_name, outstanding, loaded, outstanding_accounts),
            failed={**outstanding, **{f"*/{a}": r for a, r in outstanding_accounts.items()}},
            results=results,
        )
    return results


__all__ = ["ExtractError", "extract", "failure_line", "load", "plan", "raise_for_failed_units"]
