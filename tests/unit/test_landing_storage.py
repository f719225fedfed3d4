"""Landing storage every worker reaches (FUNNELHOUSE_LANDING_URL) and cursors read without the warehouse.

The object-store path (ObjectStoragePath / fsspec: one write per object, manifest last, the loader
downloading a batch to bulk-read it) is exercised with ``file://`` URLs, which take exactly that code
path; no S3 or GCS is reachable from here.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from extractors import pipeline, settings
from extractors.landing import MANIFEST, complete_batches, remove_interrupted
from extractors.warehouse import warehouse_lock
from tests.pipeline_helpers import rows, run

END = datetime(2026, 8, 30, tzinfo=UTC)


def _raw(source: str) -> dict[str, list[tuple]]:
    tables = [
        t
        for (t,) in rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_{source}' "
            "AND NOT starts_with(table_name, '_') ORDER BY 1"
        )
    ]
    return {t: rows(f"SELECT _account_id, _record::VARCHAR FROM raw_{source}.{t} ORDER BY ALL") for t in tables}


@pytest.mark.slow
def test_an_object_store_landing_url_loads_the_same_rows_as_a_local_folder(connections, data_dir, tmp_path, monkeypatch):
    # GIVEN a first run through the local landing folder
    run("meta_ads", END)
    local = _raw("meta_ads")
    # WHEN the same source runs into a fresh warehouse through a URL (ObjectStoragePath)
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "other"))
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", f"file://{tmp_path}/bucket/landing")
    root = settings.landing_dir()
    assert type(root).__name__ == "ObjectStoragePath"
    run("meta_ads", END)
    # THEN the raw tables hold the same records, the loaded batch is gone from the store,
    assert _raw("meta_ads") == local and sum(len(v) for v in local.values()) > 0
    assert complete_batches(root, "meta_ads") == []
    # AND the cursor copy beside the batches equals the warehouse's cursors
    copy = json.loads((root / "_state" / "meta_ads.json").read_text())
    saved = rows("SELECT stream, account_id, cursor_value FROM _funnelhouse.stream_state WHERE source = 'meta_ads' ORDER BY 1, 2")
    assert [(c["stream"], c["account_id"], datetime.fromisoformat(c["cursor"])) for c in copy["cursors"]] == saved


@pytest.mark.slow
def test_an_interrupted_batch_on_the_object_store_is_ignored_then_removed(connections, data_dir, tmp_path, monkeypatch):
    # GIVEN a batch an extraction killed long ago left on the store: pages, no manifest
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", f"file://{tmp_path}/bucket/landing")
    root = settings.landing_dir()
    stale = root / "meta_ads" / "meta_ads-20260101T000000-deadbeef" / "insights" / "1001"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "page-000001.ndjson").write_text('{"half": "written"}\n')
    # WHEN the source is extracted and loaded
    run("meta_ads", END)
    # THEN nothing of it was loaded (no half record), and the extraction removed it
    assert rows("SELECT count(*) FROM raw_meta_ads.insights WHERE _record::VARCHAR LIKE '%half%'") == [(0,)]
    assert not (root / "meta_ads" / "meta_ads-20260101T000000-deadbeef").exists()
    # AND a fresh batch without a manifest (being written right now) is left alone
    fresh = root / "meta_ads" / f"meta_ads-{datetime.now(UTC):%Y%m%dT%H%M%S}-0badc0de"
    (fresh / "x").mkdir(parents=True, exist_ok=True)
    remove_interrupted(root, "meta_ads")
    assert fresh.exists() and not (fresh / MANIFEST).exists()


@pytest.mark.slow
def test_extraction_plans_from_the_cursor_copy_while_a_writer_holds_the_warehouse(connections, data_dir):
    # GIVEN a loaded source (its cursors saved, and copied to the landing storage)
    run("meta_ads", END)
    copy = json.loads((settings.landing_dir() / "_state" / "meta_ads.json").read_text())
    assert copy["cursors"]
    # WHEN another step holds the warehouse for writing while the next extraction runs
    done = threading.Event()

    def extract():
        pipeline.extract("meta_ads", end=END, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
        done.set()

    with warehouse_lock(settings.warehouse_path()):
        worker = threading.Thread(target=extract, daemon=True)
        worker.start()
        # THEN it finishes without waiting for the warehouse (before, it queued for the lock to read cursors)
        assert done.wait(timeout=120), "extraction waited for the warehouse lock"
    # AND it read from the saved cursors (the insights lookback), not from the first-run start
    manifest = json.loads((complete_batches(settings.landing_dir(), "meta_ads")[0] / MANIFEST).read_text())
    starts = {u["stream"]: u["window_start"] for u in manifest["units"]}
    assert starts["insights"] is not None and starts["insights"] > "2026-07-01"


def test_the_settings_tell_a_path_from_a_url(monkeypatch, tmp_path):
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FUNNELHOUSE_LANDING_URL", raising=False)
    assert settings.landing_dir() == tmp_path / "landing"
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", str(tmp_path / "shared"))
    assert settings.landing_dir() == tmp_path / "shared"
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", "file:///srv/landing")
    assert str(settings.landing_dir()) == "file:///srv/landing"


@pytest.fixture
def bi_reader(data_dir):
    """A BI tool in another process holding the build file open read-only until told to close."""
    import subprocess
    import sys

    import duckdb

    path = settings.warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(path)).close()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "open"
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.slow
def test_a_load_waits_for_a_bi_reader_of_the_build_file_then_loads(connections, bi_reader, monkeypatch, caplog):
    # GIVEN a landed batch and a BI tool holding the build file; it closes after a few seconds
    pipeline.extract("meta_ads", end=END, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    threading.Timer(3.0, lambda: (bi_reader.stdin.write("\n"), bi_reader.stdin.flush())).start()
    # WHEN the load runs
    with caplog.at_level("WARNING", logger="extractors.warehouse"):
        results = pipeline.load("meta_ads", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    # THEN it waited, said who held the file, and loaded once the reader let go
    assert results and results[0].loaded["insights"] > 0
    assert any(f"PID {bi_reader.pid}" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_load_facing_a_reader_that_stays_fails_naming_it_and_the_published_file(connections, bi_reader, monkeypatch):
    from extractors.warehouse import WarehouseBusy

    pipeline.extract("meta_ads", end=END, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    monkeypatch.setenv("FUNNELHOUSE_WAREHOUSE_LOCK_WAIT_S", "2")
    with pytest.raises(WarehouseBusy) as raised:
        pipeline.load("meta_ads", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert f"PID {bi_reader.pid}" in str(raised.value) and str(settings.published_path()) in str(raised.value)
    # nothing half-done: the batch is still landed for the next try
    assert len(complete_batches(settings.landing_dir(), "meta_ads")) == 1


@pytest.mark.slow
def test_a_batch_planned_from_another_warehouses_cursors_is_refused_not_loaded_with_a_gap(
    connections, data_dir, tmp_path, monkeypatch
):
    from extractors.loader import LandingMismatch

    # GIVEN a shared landing storage holding the cursor copy of a warehouse that was then deleted
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", str(tmp_path / "shared-landing"))
    run("meta_ads", END)
    settings.warehouse_path().unlink()
    # WHEN the next extraction plans from that copy and its batch is loaded into the new warehouse
    pipeline.extract("meta_ads", end=END, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    with pytest.raises(LandingMismatch, match="planned from the cursors of another warehouse"):
        pipeline.load("meta_ads", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    # THEN nothing was loaded, the batch and the stale copy are gone, and the next run reads from the start
    assert complete_batches(settings.landing_dir(), "meta_ads") == []
    assert not (settings.landing_dir() / "_state" / "meta_ads.json").exists()
    run("meta_ads", END)
    fresh = _raw("meta_ads")
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "clean"))
    monkeypatch.setenv("FUNNELHOUSE_LANDING_URL", str(tmp_path / "clean-landing"))
    run("meta_ads", END)
    assert fresh == _raw("meta_ads")


def test_every_page_is_on_disk_before_the_manifest_vouches_for_it(tmp_path, monkeypatch):
    """Pages are fsynced in the background while the next page is read; the manifest waits for them."""
    import os

    from extractors import landing

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        real_fsync(fd)
        events.append("fsync " + os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1])

    def replace(src, dst):
        events.append("rename " + str(dst).rsplit("/", 1)[-1])
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(landing, "SEGMENT_BYTES", 400)  # a file holds about two of these pages
    batch = landing.LandingBatch(tmp_path, "hubspot")
    writer = batch.unit("contacts", "1", None, END)
    pages = [
        [{"id": str(p * 10 + i), "properties": {"firstname": "Ивана", "note": 'a "quote"'}} for i in range(3)] for p in range(5)
    ]
    for page in pages:
        writer.write_page(page)
    batch_dir = batch.commit()
    # THEN the pages went to files named after their first page, each fsynced, and its folder,
    # before the manifest was renamed into place
    files = ["page-000001.ndjson", "page-000003.ndjson", "page-000005.ndjson"]
    assert json.loads((batch_dir / MANIFEST).read_text())["units"][0]["files"] == [f"contacts/1/{f}" for f in files]
    manifest_at = events.index(f"rename {MANIFEST}")
    assert {f"fsync {f}" for f in files} | {"fsync 1"} <= set(events[:manifest_at])
    # and a file holds its pages' records in request order as the API sent them, one compact JSON line each
    assert (batch_dir / "contacts" / "1" / files[1]).read_text(encoding="utf-8") == "".join(
        json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for page in pages[2:4] for r in page
    )
