"""The one loader: landed pages -> raw tables. Keys, quarantine, dedupe, window replace, state."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest

from extractors.landing import LandingBatch, complete_batches
from extractors.loader import LandingMismatch, load_batch, read_state

END = datetime(2026, 8, 30, tzinfo=UTC)


def land(root, source, units):
    """units: list of (stream, account, window_start, [pages of records])."""
    batch = LandingBatch(root, source)
    for stream, account, start, pages in units:
        writer = batch.unit(stream, account, start, END)
        for page in pages:
            writer.write_page(page)
    return batch.commit({})


def rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def insight(ad_id, day, spend):
    return {"ad_id": ad_id, "date_start": day, "date_stop": day, "spend": spend}


def test_keys_quarantine_and_in_batch_duplicates(tmp_path):
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    contacts_page_1 = [{"id": "1", "v": "old"}, {"id": "2", "v": "a"}, {"v": "no id"}]
    contacts_page_2 = [{"id": "1", "v": "new"}, {"id": "3", "v": "b"}]  # id 1 again, on a later page
    result = load_batch(land(landing, "hubspot", [("contacts", "p1", None, [contacts_page_1, contacts_page_2])]), warehouse)

    # 5 records returned: 3 distinct loaded (id 1 came twice, the later page wins), 1 quarantined.
    assert result.loaded == {"contacts": 3} and result.quarantined == {"contacts": 1}
    assert rows(warehouse, "SELECT id, _record->>'$.v' FROM raw_hubspot.contacts ORDER BY id") == [
        ("1", "new"),
        ("2", "a"),
        ("3", "b"),
    ]
    quarantine = rows(warehouse, "SELECT stream, reason, raw_payload FROM raw_hubspot._quarantine")
    assert quarantine == [("contacts", 'missing or invalid key: "id"', '{"v":"no id"}')]
    assert read_state(warehouse, "hubspot") == {("contacts", "p1"): END}
    assert complete_batches(landing, "hubspot") == []  # loaded batches leave the landing area


def test_a_batch_loaded_a_chunk_at_a_time_equals_one_load_of_it_all(tmp_path, monkeypatch):
    from extractors import landing as landing_module

    # GIVEN pages in many small files, with ids repeated on later pages and in later files
    pages = [[{"id": str((p * 7 + i) % 40), "v": f"page {p}"} for i in range(10)] for p in range(30)] + [[{"v": "no id"}]]
    whole, chunked = tmp_path / "whole.duckdb", tmp_path / "chunked.duckdb"
    expected = load_batch(land(tmp_path / "l1", "hubspot", [("contacts", "p1", None, pages)]), whole)
    monkeypatch.setattr(landing_module, "SEGMENT_BYTES", 300)
    monkeypatch.setenv("FUNNELHOUSE_LOAD_CHUNK_MB", "0.001")  # about two files a chunk
    batch_dir = land(tmp_path / "l2", "hubspot", [("contacts", "p1", None, pages)])
    assert len(list(batch_dir.rglob("page-*.ndjson"))) > 10
    result = load_batch(batch_dir, chunked)
    # THEN the same rows (each id's copy from its last page), counts and quarantine
    assert (result.loaded, result.quarantined) == (expected.loaded, expected.quarantined) == ({"contacts": 40}, {"contacts": 1})
    query = "SELECT id, _record::VARCHAR FROM raw_hubspot.contacts ORDER BY id"
    assert rows(chunked, query) == rows(whole, query)
    last = {r["id"]: r["v"] for page in pages for r in page if "id" in r}
    assert rows(chunked, "SELECT id, _record->>'$.v' FROM raw_hubspot.contacts ORDER BY id") == sorted(last.items())


def test_merge_replaces_by_key_and_keeps_other_accounts(tmp_path):
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    load_batch(
        land(
            landing,
            "hubspot",
            [("contacts", "p1", None, [[{"id": "1", "v": "a"}]]), ("contacts", "p2", None, [[{"id": "1", "v": "other portal"}]])],
        ),
        warehouse,
    )
    load_batch(land(landing, "hubspot", [("contacts", "p1", END, [[{"id": "1", "v": "b"}, {"id": "4", "v": "c"}]])]), warehouse)
    assert rows(warehouse, "SELECT _account_id, id, _record->>'$.v' FROM raw_hubspot.contacts ORDER BY ALL") == [
        ("p1", "1", "b"),
        ("p1", "4", "c"),
        ("p2", "1", "other portal"),
    ]


def test_window_load_replaces_exactly_the_reread_days(tmp_path):
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    first = [
        insight("a", "2026-08-01", "1.00"),
        insight("a", "2026-08-02", "2.00"),
        insight("b", "2026-08-02", "3.00"),
        insight("a", "2026-08-03", "4.00"),
    ]
    load_batch(land(landing, "meta_ads", [("insights", "1001", datetime(2026, 8, 1, tzinfo=UTC), [first])]), warehouse)
    # Re-read from Aug 2: 'a' restated, 'b' vanished (paused ad, deleted row), Aug 1 untouched.
    reread = [insight("a", "2026-08-02", "2.50"), insight("a", "2026-08-03", "4.00")]
    load_batch(land(landing, "meta_ads", [("insights", "1001", datetime(2026, 8, 2, tzinfo=UTC), [reread])]), warehouse)
    assert rows(warehouse, "SELECT ad_id, date_start::VARCHAR, _record->>'$.spend' FROM raw_meta_ads.insights ORDER BY ALL") == [
        ("a", "2026-08-01", "1.00"),
        ("a", "2026-08-02", "2.50"),
        ("a", "2026-08-03", "4.00"),
    ]


def test_a_batch_loads_once_and_a_failed_load_changes_nothing(tmp_path, monkeypatch):
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    batch_dir = land(landing, "hubspot", [("contacts", "p1", None, [[{"id": "1"}]])])
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(batch_dir, copy)
    load_batch(batch_dir, warehouse)
    again = load_batch(copy, warehouse)  # the same batch id, e.g. after a crash between commit and cleanup
    assert again.already_loaded and rows(warehouse, "SELECT count(*) FROM raw_hubspot.contacts") == [(1,)]

    broken = land(landing, "hubspot", [("contacts", "p1", None, [[{"id": "2"}]]), ("deals", "p1", None, [[{"id": "9"}]])])
    (broken / "deals" / "p1" / "page-000001.ndjson").write_text('{"id": "9"')  # corrupt the second unit's file
    with pytest.raises(duckdb.Error):
        load_batch(broken, warehouse)
    (broken / "deals" / "p1" / "page-000001.ndjson").write_text("")  # a page lost in a power cut
    with pytest.raises(LandingMismatch, match="the landing files hold 0 records but the manifest says 1"):
        load_batch(broken, warehouse)
    assert rows(warehouse, "SELECT count(*) FROM raw_hubspot.contacts") == [(1,)]  # the first unit rolled back too
    assert json.loads((broken / "manifest.json").read_text())["units"]  # the batch stays for the next run


def test_a_manifest_written_before_skipped_streams_existed_still_loads(tmp_path):
    """A batch landed by the previous version and left by a crash is loaded by this one."""
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    batch_dir = land(landing, "hubspot", [("contacts", "p1", None, [[{"id": "1"}]])])
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    del manifest["skipped_streams"]
    (batch_dir / "manifest.json").write_text(json.dumps(manifest))
    result = load_batch(batch_dir, warehouse)
    assert result.loaded == {"contacts": 1} and result.skipped_streams == {}


def test_two_clicks_in_one_second_on_different_links_are_two_email_actions(tmp_path):
    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    at = "2026-08-01T10:00:00+00:00"
    page = [
        {"campaign_id": "c1", "email_id": "m1", "action": "open", "timestamp": at},
        {"campaign_id": "c1", "email_id": "m1", "action": "click", "timestamp": at, "url": "https://x.example/a"},
        {"campaign_id": "c1", "email_id": "m1", "action": "click", "timestamp": at, "url": "https://x.example/b"},
    ]
    result = load_batch(land(landing, "mailchimp", [("email_activity", "c1", None, [page, page[:1]])]), warehouse)
    # the open repeated on a later page is one action; the two clicks stay two
    assert result.loaded == {"email_activity": 3} and result.quarantined == {"email_activity": 0}
    assert rows(warehouse, "SELECT action, url FROM raw_mailchimp.email_activity ORDER BY ALL") == [
        ("click", "https://x.example/a"),
        ("click", "https://x.example/b"),
        ("open", ""),
    ]


def test_a_manifest_written_before_failed_units_existed_still_loads_and_reports_its_failed_accounts(tmp_path):
    """GIVEN a batch of the previous format (failed_accounts, no failed_units) left by a crash
    WHEN loaded THEN its units load and its account failure is reported by the load."""
    from extractors import pipeline
    from extractors.errors import PartialFailure

    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    batch_dir = land(
        landing, "meta_ads", [("insights", "1001", datetime(2026, 8, 1, tzinfo=UTC), [[insight("a1", "2026-08-02", "1.00")]])]
    )
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    del manifest["failed_units"]
    manifest["failed_accounts"] = {"1999": "meta_ads insights [act_1999]: no permission (HTTP 403)"}
    (batch_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PartialFailure, match=r"^meta_ads: loaded every account except 1999: .*HTTP 403"):
        pipeline.load("meta_ads", warehouse=warehouse, landing_root=landing)
    assert rows(warehouse, "SELECT ad_id FROM raw_meta_ads.insights") == [("a1",)]


def test_a_failed_unit_is_reported_and_keeps_its_cursor_while_the_others_move_theirs(tmp_path):
    from extractors.landing import FailedUnit

    warehouse, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    batch = LandingBatch(landing, "meta_ads")
    writer = batch.unit("insights", "1001", datetime(2026, 8, 1, tzinfo=UTC), END)
    writer.write_page([insight("a1", "2026-08-02", "1.00")])
    broken = batch.unit("insights", "1002", datetime(2026, 8, 1, tzinfo=UTC), END)
    broken.write_page([insight("b1", "2026-08-02", "9.00")])  # landed before its next page failed
    batch.drop(broken)
    result = load_batch(
        batch.commit(
            [
                FailedUnit(
                    "insights",
                    "1002",
                    "2026-08-01T00:00:00+00:00",
                    END.isoformat(),
                    "meta_ads insights [act_1002]: rejected (HTTP 400)",
                    False,
                )
            ]
        ),
        warehouse,
    )
    assert result.units == ["insights/1001"] and result.failed_units == {
        "insights/1002": "meta_ads insights [act_1002]: rejected (HTTP 400)"
    }
    assert rows(warehouse, "SELECT _account_id, ad_id FROM raw_meta_ads.insights") == [("1001", "a1")]  # b1 never loads
    assert set(read_state(warehouse, "meta_ads")) == {("insights", "1001")}  # a failed unit never moves a cursor
