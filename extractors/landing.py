"""Landing files: each API page is written as NDJSON before anything touches DuckDB.

A batch is a folder ``landing/<source>/<batch_id>/`` with one sub-folder per
(stream, account) unit and a ``manifest.json`` written last; a unit's pages are NDJSON files
(each page's records in request order, several pages a file on local storage, ``UnitWriter``). A batch without a
manifest is an interrupted extraction: the loader ignores it and a later run
deletes it. Records are written exactly as the API sent them.

The landing root (settings.landing_dir()) is a local Path or, for a URL in
FUNNELHOUSE_LANDING_URL, an Airflow ObjectStoragePath, so that extract tasks on
any worker and the load on the warehouse worker see the same batches. Crash
safety on each kind:

- local or shared directory: every page is fsynced before the manifest (by a few
  background threads, so the reading thread asks for the next page while the last one
  reaches the disk; ``commit`` waits for them all), and the manifest is written to a
  temporary name, fsynced and renamed into place;
- object store: every object is written whole by one PUT (a killed writer leaves
  no partial object), pages before the manifest, and stores such as S3 and GCS
  list and read an object strongly consistently after its PUT.

Either way the manifest vouches for pages that are complete, and the loader
still checks each unit's record count against it.

The manifest lists the units that were read whole (only those load, and only their
cursors move) and the units that failed, with the platform's reason: a failed unit's
pages are never in the batch, so it cannot half-load. ``landing/_state/<source>.json``
holds a copy of the source's cursors, written after each load commits, so that
extract tasks plan their windows without opening the warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STATE_FOLDER = "_state"
SYNC_THREADS = 4  # fsyncs in flight at once: the disk commits them together, and they hold no GIL
SEGMENT_BYTES = 16 * 1024 * 1024  # a local landing file holds pages up to about this size
# One encoder for every record: json.dumps with these options would build a new one per record.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def is_local(path: Any) -> bool:
    return isinstance(path, Path)


def fsync(path: Path) -> None:
    """A file's contents, or a directory's entries (a file created or renamed in it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _PageSync:
    """Pages reach the disk in the background; ``wait`` returns once every page written so far is
    durable (or raises the first error), so the manifest is written only after its pages are."""

    def __init__(self):
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, path: Path) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="landing-fsync")
            self._pending.append(self._pool.submit(fsync, path))

    def wait(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool, self._pending = self._pool, None, []
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _write_whole(path: Any, text: str) -> None:
    """Write a file that readers must see whole or not at all (manifests, cursor copies)."""
    if not is_local(path):
        path.write_text(text)  # one PUT: the object appears complete, or not at all
        return
    tmp = path.with_name(f"{path.name}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync(path.parent)


def _remove_tree(path: Any) -> None:
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.fs.rm(path.path, recursive=True)


@dataclass
class UnitManifest:
    stream: str
    account_id: str
    window_start: str | None
    window_end: str
    files: list[str] = field(default_factory=list)
    records: int = 0
    pages: int = 0
    # What the platform said about this unit's data that the rows alone do not show (e.g. GA4
    # folded rows into "(other)"). Defaults to empty so manifests written before the field still load.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Note:
    """Yielded by a source's ``read`` between pages: a remark the unit's manifest keeps."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class FailedUnit:
    """A unit that could not be read this run: not in the batch, its cursor stays where it was."""

    stream: str
    account_id: str
    window_start: str | None
    window_end: str
    reason: str  # the one line the platform's refusal became
    retryable: bool  # whether reading it again later can succeed (5xx, retries exhausted) or not (a 4xx)

    @property
    def key(self) -> str:
        return f"{self.stream}/{self.account_id}"


@dataclass
class Manifest:
    batch_id: str
    source: str
    created_at: str
    units: list[UnitManifest]
    # account -> reason: how manifests written before failed_units recorded an account refused whole.
    failed_accounts: dict[str, str]
    # "stream/account" -> the platform's refusal, for optional streams skipped this run.
    # Defaults to empty so manifests written before the field still load.
    skipped_streams: dict[str, str] = field(default_factory=dict)
    failed_units: list[FailedUnit] = field(default_factory=list)  # empty in manifests written before it
    # The warehouse whose cursor copy planned this batch (None: no copy, planned from the start or the
    # warehouse itself). The loader refuses a batch planned from another warehouse's cursors.
    planned_from: str | None = None

    @classmethod
    def read(cls, batch_dir: Path) -> Manifest:
        raw = json.loads((batch_dir / MANIFEST).read_text())
        return cls(
            **{
                **raw,
                "units": [UnitManifest(**u) for u in raw["units"]],
                "failed_units": [FailedUnit(**f) for f in raw.get("failed_units", [])],
            }
        )


class UnitWriter:
    """A unit's pages, in request order. On local storage they are appended to files of about
    SEGMENT_BYTES, each named after its first page (fewer files: fewer fsyncs, and fewer unlinks,
    which cost milliseconds each on a disk mounted with online discard); on an object store each
    page is its own object (one PUT). The loader keeps a record's last copy by file name, then line."""

    def __init__(self, batch_dir: Path, unit: UnitManifest, sync: _PageSync | None = None):
        self.unit = unit
        self.dir = batch_dir / unit.stream / unit.account_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self._sync = sync or _PageSync()
        self._segment: Any = None  # the open file pages are appended to
        self._segment_path: Path | None = None
        self._segment_size = 0

    def write_page(self, records: list[dict]) -> None:
        self.unit.pages += 1
        if not records:
            return
        text = "\n".join(map(_encode, records)) + "\n"
        name = f"page-{self.unit.pages:06d}.ndjson"
        if not is_local(self.dir):
            # The manifest vouches for this page: one PUT stores it whole (or not at all) before the manifest.
            (self.dir / name).write_text(text)
            self.unit.files.append(f"{self.unit.stream}/{self.unit.account_id}/{name}")
        else:
            if self._segment is None:
                self._segment_path, self._segment_size = self.dir / name, 0
                self._segment = open(self._segment_path, "w", encoding="utf-8")
                self.unit.files.append(f"{self.unit.stream}/{self.unit.account_id}/{name}")
            self._segment.write(text)
            self._segment_size += len(text)
            if self._segment_size >= SEGMENT_BYTES:
                self.close()
        self.unit.records += len(records)

    def close(self) -> None:
        """End the current file; it is fsynced in the background (the batch's commit waits for it)."""
        if self._segment is not None:
            self._segment.close()
            self._sync.submit(self._segment_path)
            self._segment = None


class LandingBatch:
    def __init__(self, root: Any, source: str, planned_from: str | None = None):
        now = datetime.now(UTC)
        # Microseconds in the name, so that name order is creation order even for batches of one second
        # (a retry's batch must load after the batch it completes).
        self.batch_id = f"{source}-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        self.source = source
        self.created_at = now.isoformat()
        self.dir = root / source / self.batch_id
        self.dir.mkdir(parents=True)
        self.units: list[UnitManifest] = []
        self.planned_from = planned_from
        self._lock = threading.Lock()
        self._sync = _PageSync()
        self._writers: list[UnitWriter] = []

    def unit(self, stream: str, account_id: str, window_start: datetime | None, window_end: datetime) -> UnitWriter:
        unit = UnitManifest(stream, account_id, window_start.isoformat() if window_start else None, window_end.isoformat())
        writer = UnitWriter(self.dir, unit, self._sync)
        with self._lock:
            self.units.append(unit)
            self._writers.append(writer)
        return writer

    def drop(self, writer: UnitWriter) -> None:
        """Take a unit that failed out of the batch: the loader reads only the pages the manifest
        lists, so the ones it landed are never loaded (they go with the batch folder after the load)."""
        with self._lock:
            self.units = [u for u in self.units if u is not writer.unit]

    def commit(self, failed_units: list[FailedUnit] | None = None, skipped_streams: dict[str, str] | None = None) -> Path:
        manifest = Manifest(
            self.batch_id,
            self.source,
            self.created_at,
            sorted(self.units, key=lambda u: (u.stream, u.account_id)),
            {},
            skipped_streams or {},
            sorted(failed_units or [], key=lambda f: (f.stream, f.account_id)),
            self.planned_from,
        )
        try:
            for writer in self._writers:
                writer.close()
            self._sync.wait()  # every page durable before the manifest vouches for it
            if is_local(self.dir):  # and their names: the folders' entries
                for folder in {p for u in manifest.units for p in (self.dir / u.stream / u.account_id, self.dir / u.stream)}:
                    fsync(folder)
        finally:
            self._sync.close()
        _write_whole(self.dir / MANIFEST, json.dumps(asdict(manifest), indent=1))
        return self.dir

    def discard(self) -> None:
        for writer in self._writers:
            writer.close()
        self._sync.close()
        _remove_tree(self.dir)


def complete_batches(root: Any, source: str) -> list[Any]:
    """Batches of a source whose extraction finished, oldest first (batch ids start with their time)."""
    folder = root / source
    return sorted((p for p in folder.iterdir() if (p / MANIFEST).exists()), key=lambda p: p.name) if folder.exists() else []


def remove_interrupted(root: Any, source: str, older_than_s: float = 6 * 3600) -> None:
    """Delete batches an earlier, killed extraction left without a manifest.

    Only old ones: a batch without a manifest may also be one being written right now. Age comes
    from the batch id (its UTC start), which every kind of storage keeps; object stores have no
    folder times.
    """
    folder = root / source
    if folder.exists():
        cutoff = time.time() - older_than_s
        for p in folder.iterdir():
            started = _batch_started(p.name)
            if started is not None and started < cutoff and not (p / MANIFEST).exists():
                _remove_tree(p)


def _batch_started(batch_id: str) -> float | None:
    try:
        stamp = batch_id.rsplit("-", 2)[-2]
        # Ids since failed units carry microseconds (%f); older ones end at the second.
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%f" if len(stamp) > 15 else "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp()
    except (IndexError, ValueError):
        return None  # not a batch folder


def remove_batch(batch_dir: Any) -> None:
    """Drop a batch once it is loaded: the landing copy has done its job."""
    _remove_tree(batch_dir)


@contextmanager
def local_copy(batch_dir: Any) -> Iterator[Path]:
    """The batch as a local folder DuckDB can bulk-read: itself when local, else a downloaded copy.

    DuckDB reads local files (object stores would need its httpfs extension, downloaded at run time);
    the download is removed afterwards. The loader checks the copy against the manifest.
    """
    if is_local(batch_dir):
        yield batch_dir
        return
    with tempfile.TemporaryDirectory(prefix="funnelhouse-batch-") as tmp:
        batch_dir.fs.get(batch_dir.path.rstrip("/") + "/", tmp + "/", recursive=True)
        yield Path(tmp)


def write_cursors(root: Any, source: str, cursors: dict[tuple[str, str], datetime], batch_id: str, warehouse_id: str) -> None:
    """Save a copy of the source's cursors next to its batches (after the load that set them commits).

    A copy may only lag the warehouse (written after the commit), never lead it: a stale copy makes
    the next extract re-read a little more, which the loader's merge and window replace absorb.
    """
    folder = root / STATE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "source": source,
        "warehouse_id": warehouse_id,
        "after_batch": batch_id,
        "cursors": [
            {"stream": stream, "account_id": account, "cursor": value.isoformat()}
            for (stream, account), value in sorted(cursors.items())
        ],
    }
    _write_whole(folder / f"{source}.json", json.dumps(payload, indent=1))


def read_cursors(root: Any, source: str) -> tuple[dict[tuple[str, str], datetime], str | None] | None:
    """The cursor copy written by the last load of the source and the id of the warehouse it copies;
    None when there is none yet."""
    path = root / STATE_FOLDER / f"{source}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    return (
        {(c["stream"], c["account_id"]): datetime.fromisoformat(c["cursor"]) for c in payload["cursors"]},
        payload.get("warehouse_id"),
    )


def remove_cursors(root: Any, source: str) -> None:
    path = root / STATE_FOLDER / f"{source}.json"
    if path.exists():
        path.unlink()
