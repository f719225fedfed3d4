"""Landing files: each API page is written as NDJSON before anything touches DuckDB.

A batch is a folder ``landing/<source>/<batch_id>/`` with one sub-folder per
(stream, account) unit and a ``manifest.json`` written last, by atomic rename.
A batch without a manifest is an interrupted extraction: the loader ignores it
and the next run deletes it. Records are written exactly as the API sent them.

The manifest lists the units that were read whole (only those load, and only their
cursors move) and the units that failed, with the platform's reason: a failed unit's
pages are never in the batch, so it cannot half-load.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

MANIFEST = "manifest.json"


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

    @classmethod
    def read(cls, batch_dir: Path) -> Manifest:
        raw = json.loads((batch_dir / MANIFEST).read_text())
        return cls(**{**raw, "units": [UnitManifest(**u) for u in raw["units"]],
                      "failed_units": [FailedUnit(**f) for f in raw.get("failed_units", [])]})


class UnitWriter:
    def __init__(self, batch_dir: Path, unit: UnitManifest):
        self.unit = unit
        self.dir = batch_dir / unit.stream / unit.account_id
        self.dir.mkdir(parents=True, exist_ok=True)

    def write_page(self, records: list[dict]) -> None:
        self.unit.pages += 1
        if not records:
            return
        path = self.dir / f"page-{self.unit.pages:06d}.ndjson"
        with open(path, "w") as fh:
            for record in records:
                fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
                fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())  # the manifest vouches for this page: it must be on disk first
        self.unit.files.append(str(path.relative_to(self.dir.parent.parent)))
        self.unit.records += len(records)


class LandingBatch:
    def __init__(self, root: Path, source: str):
        now = datetime.now(UTC)
        # Microseconds in the name, so that name order is creation order even for batches of one second
        # (a retry's batch must load after the batch it completes).
        self.batch_id = f"{source}-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        self.source = source
        self.created_at = now.isoformat()
        self.dir = root / source / self.batch_id
        self.dir.mkdir(parents=True)
        self.units: list[UnitManifest] = []
        self._lock = threading.Lock()

    def unit(self, stream: str, account_id: str, window_start: datetime | None, window_end: datetime) -> UnitWriter:
        unit = UnitManifest(stream, account_id, window_start.isoformat() if window_start else None, window_end.isoformat())
        with self._lock:
            self.units.append(unit)
        return UnitWriter(self.dir, unit)

    def drop(self, writer: UnitWriter) -> None:
        """Take a unit that failed out of the batch: the loader reads only the pages the manifest
        lists, so the ones it landed are never loaded (they go with the batch folder after the load)."""
        with self._lock:
            self.units = [u for u in self.units if u is not writer.unit]

    def commit(self, failed_units: list[FailedUnit] | None = None, skipped_streams: dict[str, str] | None = None) -> Path:
        manifest = Manifest(self.batch_id, self.source, self.created_at, sorted(self.units, key=lambda u: (u.stream, u.account_id)),
                            {}, skipped_streams or {}, sorted(failed_units or [], key=lambda f: (f.stream, f.account_id)))
        tmp = self.dir / f"{MANIFEST}.tmp"
        with open(tmp, "w") as fh:
            json.dump(asdict(manifest), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / MANIFEST)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return self.dir

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def complete_batches(root: Path, source: str) -> list[Path]:
    """Batches of a source whose extraction finished, oldest first."""
    folder = root / source
    return sorted(p for p in folder.iterdir() if (p / MANIFEST).exists()) if folder.exists() else []


def remove_interrupted(root: Path, source: str, older_than_s: float = 6 * 3600) -> None:
    """Delete batches an earlier, killed extraction left without a manifest.

    Only old ones: a batch without a manifest may also be one being written right now.
    """
    folder = root / source
    if folder.exists():
        cutoff = time.time() - older_than_s
        for p in folder.iterdir():
            if p.is_dir() and not (p / MANIFEST).exists() and p.stat().st_mtime < cutoff:
                shutil.rmtree(p, ignore_errors=True)
