"""Extractors against the sandbox: full reads equal the world, incremental reads
equal full reads, reruns change nothing, and bad input fails cleanly."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from extractors import pipeline, settings
from extractors.__main__ import main as cli_main
from extractors.errors import PartialFailure
from extractors.landing import Manifest
from tests.pipeline_helpers import rows, run

PROJECT = settings.__file__.rsplit("/extractors/", 1)[0]


def table(name: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM {name} ORDER BY ALL").fetchall()


def checksum(name: str) -> str:
    return hashlib.sha256(repr(table(name)).encode()).hexdigest()


@pytest.mark.slow
def test_full_hubspot_read_equals_the_world(sandbox, connections, data_dir, world):
    run("hubspot", end=world.default_now)
    contacts = {row[1]: json.loads(row[2]) for row in table("raw_hubspot.contacts")}
    expected = {c.contact_id: c for c in world.iter_contacts(world.default_now)}
    assert contacts.keys() == expected.keys()
    assert len(contacts) == 5032
    for cid, record in contacts.items():
        assert record == world.contact_record(expected[cid], world.default_now, list(record["properties"]))
    archived = {cid for cid, r in contacts.items() if r["archived"]}
    assert len(archived) == world.truth().archived_contact_count == 99
    deals = table("raw_hubspot.deals")
    assert len(deals) == 670
    assert all(json.loads(r[2])["associations"]["contacts"]["results"] for r in deals)


@pytest.mark.slow
def test_incremental_hubspot_read_after_changes_equals_a_full_read(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    earlier = world.default_now - timedelta(days=20)
    sandbox.set_clock(earlier)
    run("hubspot", end=earlier)
    before = table("raw_hubspot.contacts")
    sandbox.set_clock(world.default_now)
    results = run("hubspot", end=world.default_now)  # resumes from the saved cursor: search, not a full list
    incremental = checksum("raw_hubspot.contacts"), checksum("raw_hubspot.deals")
    changed = results[0].loaded["contacts"]
    assert 0 < changed < len(before)  # only what changed (plus the archived pass) was read

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("hubspot", end=world.default_now)
    assert (checksum("raw_hubspot.contacts"), checksum("raw_hubspot.deals")) == incremental


@pytest.mark.slow
def test_meta_lookback_replaces_restated_days_and_equals_a_full_read(
    sandbox, connections, data_dir, world, tmp_path, monkeypatch
):
    earlier = world.default_now - timedelta(days=10)
    sandbox.set_clock(earlier)
    run("meta_ads", end=earlier)
    lead_actions_before = {(r[1], str(r[2])): json.loads(r[3]).get("actions") for r in table("raw_meta_ads.insights")}
    sandbox.set_clock(world.default_now)
    run("meta_ads", end=world.default_now)
    after = {(r[1], str(r[2])): json.loads(r[3]).get("actions") for r in table("raw_meta_ads.insights")}
    restated = [k for k in lead_actions_before if after[k] != lead_actions_before[k]]
    assert restated, "view-through leads arrive days later: some earlier days must have been restated"
    incremental = checksum("raw_meta_ads.insights")

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("meta_ads", end=world.default_now)
    assert checksum("raw_meta_ads.insights") == incremental
    assert len(table("raw_meta_ads.insights")) == world.truth().insights_row_count == 1432


@pytest.mark.slow
def test_rerunning_the_same_interval_three_times_changes_nothing(sandbox, connections, data_dir, world):
    start = datetime(2026, 7, 1, tzinfo=UTC)
    sums = []
    for _ in range(3):
        run("meta_ads", end=world.default_now, start=start)
        run("hubspot", end=world.default_now, start=start)
        sums.append((checksum("raw_meta_ads.insights"), checksum("raw_hubspot.contacts"), checksum("raw_hubspot.deals")))
    assert sums[0] == sums[1] == sums[2]


def test_secrets_never_reach_landing_files_raw_tables_or_logs(sandbox, connections, data_dir, world, caplog):
    caplog.set_level("DEBUG")
    extract_dir = pipeline.extract(
        "meta_ads", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
    )
    landed = b"".join(p.read_bytes() for p in extract_dir.rglob("*") if p.is_file())
    pipeline.load("meta_ads", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert "meta_ads insights" in caplog.text  # the run's log lines were captured: the check below is not vacuous
    for token in sandbox.sandbox.tokens.values():
        assert token.encode() not in landed
        assert token.encode() not in settings.warehouse_path().read_bytes()
        assert token not in caplog.text


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "extractors", *args], env=env, capture_output=True, text=True, cwd=PROJECT, timeout=120
    )


@pytest.fixture
def cli_env(connections, data_dir):
    import os

    return {**os.environ}


@pytest.mark.parametrize(
    "args, env_change, code, message",
    [
        (
            ["tiktok"],
            {},
            2,
            "error: unknown source 'tiktok': choose from cbr, facebook_pages, ga4, google_ads, hubspot, mailchimp, meta_ads",
        ),
        (
            ["hubspot", "--start", "2026-08-10", "--end", "2026-08-01"],
            {},
            2,
            "error: --start 2026-08-10 is after --end 2026-08-01",
        ),
        (["hubspot", "--start", "2026-13-01"], {}, 2, "'2026-13-01' is not a date in YYYY-MM-DD form"),
        (["hubspot", "--stream", "tickets"], {}, 2, "error: unknown stream 'tickets' for source 'hubspot'"),
        (["meta_ads", "--end", "2026-08-29"], {"AIRFLOW_CONN_META_ADS": None}, 2, "error: connection 'meta_ads' is not defined"),
        (
            ["meta_ads", "--end", "2026-08-29"],
            {"AIRFLOW_CONN_META_ADS": {"extra": {}}},
            2,
            "error: connection 'meta_ads' has no extra 'account_ids'",
        ),
        (
            ["hubspot", "--end", "2026-08-29"],
            {"AIRFLOW_CONN_HUBSPOT": {"password": "expired-token-xyz"}},
            1,
            "credentials were rejected (HTTP 401",
        ),
    ],
)
@pytest.mark.slow
def test_bad_input_gives_one_clear_line_a_nonzero_exit_and_no_damage(cli_env, args, env_change, code, message):
    env = dict(cli_env)
    for key, change in env_change.items():
        if change is None:
            env.pop(key)
        else:
            env[key] = json.dumps({**json.loads(env[key]), **change})
    result = _cli(args, env)
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:") or "error:" in line]
    assert result.returncode == code, result.stderr[-2000:]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr[-2000:]
    assert "expired-token-xyz" not in result.stderr + result.stdout
    assert not settings.warehouse_path().exists()  # the warehouse is never created, let alone touched


@pytest.mark.slow
def test_contacts_modified_while_a_search_pages_are_not_lost(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    """GIVEN an incremental search under way, WHEN contacts read on page 1 change before page 2,
    THEN nothing is skipped: after the next run the table equals a full read."""
    t0, t1, t2 = world.default_now - timedelta(days=30), world.default_now - timedelta(days=10), world.default_now
    sandbox.set_clock(t0)
    run("hubspot", end=t0)
    sandbox.set_clock(t1)
    searches = []

    def move_clock_after_first_search_page(request):
        if request.path.endswith("/search"):
            searches.append(request.path)
            if len(searches) == 2:
                sandbox.set_clock(t2)  # records modified since t1 leave the result set mid-run

    sandbox.sandbox.request_hooks.append(move_clock_after_first_search_page)
    run("hubspot", end=t1)
    sandbox.sandbox.request_hooks.clear()
    assert len(searches) > 2
    run("hubspot", end=t2)
    after_runs = checksum("raw_hubspot.contacts")

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("hubspot", end=t2)
    assert checksum("raw_hubspot.contacts") == after_runs


def test_an_account_without_access_fails_alone_and_is_reported(sandbox, connections, data_dir, world, monkeypatch):
    conn = json.loads(connections["AIRFLOW_CONN_META_ADS"])
    conn["extra"]["account_ids"] = ["1001", "1999", "1002"]  # 1999: not readable with this token
    monkeypatch.setenv("AIRFLOW_CONN_META_ADS", json.dumps(conn))
    with pytest.raises(PartialFailure, match=r"meta_ads: loaded every account except 1999: .*act_1999.*no permission"):
        run("meta_ads", end=world.default_now)
    accounts = {r[0] for r in table("raw_meta_ads.insights")}
    assert accounts == {"1001", "1002"}
    assert len(table("raw_meta_ads.insights")) == world.truth().insights_row_count


@pytest.mark.slow
def test_all_properties_reads_every_property_the_portal_defines(sandbox, connections, data_dir, world, monkeypatch):
    """A property the portal has but the extractor does not name still lands, via the properties API."""
    conn = json.loads(connections["AIRFLOW_CONN_HUBSPOT"])
    conn["extra"]["all_properties"] = True
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT", json.dumps(conn))
    original = world.contact_record

    def with_new_property(c, as_of, properties):
        record = original(c, as_of, None)
        record["properties"]["favourite_channel"] = "podcast"  # added in HubSpot after the extractor was written
        if properties is not None:
            record["properties"] = {k: v for k, v in record["properties"].items() if k in set(properties)}
        return record

    monkeypatch.setattr(world, "contact_record", with_new_property)
    run("hubspot", end=world.default_now, start=world.default_now - timedelta(days=2))
    properties = [json.loads(r[2])["properties"] for r in table("raw_hubspot.contacts")]
    assert properties and all(p.get("favourite_channel") == "podcast" for p in properties)


def test_a_field_changing_type_does_not_crash_and_unusable_records_are_quarantined(sandbox, connections, data_dir, world):
    """GIVEN Meta starts sending spend as a number and, on one page, date_start as an object,
    THEN the load goes on: spend is kept as sent, the keyless rows go to quarantine with their
    payload, and loaded + quarantined equals what the API returned."""
    # GET: the pages of the report runs (POST /insights starts a run and holds no rows).
    sandbox.faults.add(
        "change_type",
        platform="meta",
        endpoint=r"/insights$",
        method="GET",
        schedule=list(range(1, 50)),
        field="spend",
        to="number",
    )
    sandbox.faults.add(
        "change_type", platform="meta", endpoint=r"/insights$", method="GET", schedule=[2], field="date_start", to="object"
    )
    results = run("meta_ads", end=world.default_now)
    returned = world.truth().insights_row_count
    loaded, quarantined = results[0].loaded["insights"], results[0].quarantined["insights"]
    assert quarantined > 0 and loaded + quarantined == returned
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        assert con.execute("SELECT DISTINCT json_type(_record, '$.spend') FROM raw_meta_ads.insights").fetchall() == [("DOUBLE",)]
        reasons = con.execute(
            "SELECT DISTINCT reason, json_type(raw_payload::JSON, '$.date_start') FROM raw_meta_ads._quarantine"
        ).fetchall()
    assert reasons == [('missing or invalid key: "ad_id", "date_start"', "OBJECT")]


def test_a_response_slower_than_the_timeout_is_retried(sandbox, connections, data_dir, world, monkeypatch):
    conn = json.loads(connections["AIRFLOW_CONN_META_ADS"])
    conn["extra"]["timeout_s"] = 0.5
    monkeypatch.setenv("AIRFLOW_CONN_META_ADS", json.dumps(conn))
    sandbox.faults.add("slow", platform="meta", endpoint=r"/insights$", schedule=[1], seconds=1.5)
    run("meta_ads", end=world.default_now)
    assert [f.kind for f in sandbox.faults.fired] == ["slow"]
    assert len(table("raw_meta_ads.insights")) == world.truth().insights_row_count


@pytest.mark.slow
def test_a_refused_optional_stream_is_skipped_and_reported_and_read_in_full_once_allowed(
    sandbox, connections, data_dir, world, caplog
):
    """GIVEN a portal whose events API starts answering 403 after visits were landed (Marketing Hub
    Enterprise lapsed) WHEN HubSpot runs THEN contacts and deals load, contact_visits is skipped with
    the platform's reason (log, manifest, result) and its landed pages are dropped, and its cursor
    does not move; WHEN the portal has the events API again THEN the next run reads every visit."""
    events_requests = []

    def lapse_after_400_contacts(request):
        if request.path.startswith("/events/"):
            events_requests.append(request.path)
            if len(events_requests) == 400:  # by then, over 1,000 visits were landed in pages
                sandbox.sandbox.hubspot_enterprise = False

    sandbox.sandbox.request_hooks.append(lapse_after_400_contacts)
    with caplog.at_level(logging.WARNING, logger="extractors.pipeline"):
        batch = pipeline.extract(
            "hubspot", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
        )
    sandbox.sandbox.request_hooks.clear()
    manifest = Manifest.read(batch)
    assert list((batch / "contact_visits").rglob("page-*.ndjson"))  # pages were landed before the 403...
    assert sorted(u.stream for u in manifest.units) == ["contacts", "deals"]  # ...and are not in the batch
    assert list(manifest.skipped_streams) == ["contact_visits/4400001"] and manifest.failed_accounts == {}
    reason = manifest.skipped_streams["contact_visits/4400001"]
    assert "HTTP 403: This app hasn't been granted all required scopes" in reason
    assert [r.levelno for r in caplog.records if "contact_visits [4400001]: skipped" in r.getMessage()] == [logging.WARNING]

    [result] = pipeline.load("hubspot", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert result.skipped_streams == {"contact_visits/4400001": reason} and result.failed_accounts == {}
    assert len(table("raw_hubspot.contacts")) == 5032 and len(table("raw_hubspot.deals")) == 670
    assert rows(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw_hubspot' AND table_name = 'contact_visits'"
    ) == [(0,)]
    assert rows("SELECT stream FROM _funnelhouse.stream_state ORDER BY 1") == [("contacts",), ("deals",)]

    sandbox.sandbox.hubspot_enterprise = True
    [result] = run("hubspot", end=world.default_now)
    assert result.skipped_streams == {}
    expected = {
        t.event_id
        for d in world.iter_deals(world.default_now)
        for t in world.touches(world.contact(d.contact_id))
        if t.occurred_at < world.default_now
    }
    landed = {event_id for (event_id,) in rows("SELECT id FROM raw_hubspot.contact_visits")}
    assert landed == expected and len(landed) == 2784  # the whole history: no cursor had moved


def test_the_cli_reports_a_skipped_stream_and_exits_0(sandbox, connections, data_dir, world, capsys):
    sandbox.sandbox.hubspot_enterprise = False  # no Marketing Hub Enterprise: every events call answers 403
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    end_day = (world.default_now - timedelta(days=1)).date().isoformat()
    assert cli_main(["hubspot", "--end", end_day, "--stream", "contact_visits"]) == 0
    # refused after one page of deals (670 deals list in 7), not after listing them all
    assert [r.path for r in seen].count("/crm/v3/objects/deals") == 1 and seen[-1].path == "/events/v3/events"
    out = capsys.readouterr().out
    assert "hubspot contact_visits/4400001: skipped, hubspot contact_visits [" in out and "(HTTP 403: This app hasn't" in out
    assert rows("SELECT count(*) FROM _funnelhouse.stream_state") == [(0,)]


def test_the_cli_loads_the_rest_lists_the_failed_unit_and_exits_1(sandbox, connections, data_dir, world, capsys):
    """GIVEN Meta refuses one account's insights (400) WHEN the CLI runs THEN the other units are loaded
    and shown, the failed unit has a line of its own, one error line names it, and the exit is 1."""
    sandbox.faults.add("client_error", platform="meta", endpoint=r"/act_1002/insights")
    end_day = (world.default_now - timedelta(days=1)).date().isoformat()
    assert cli_main(["meta_ads", "--end", end_day]) == 1
    captured = capsys.readouterr()
    assert "raw_meta_ads.ad_accounts: 2 records loaded" in captured.out
    assert "raw_meta_ads.insights: " in captured.out
    assert "meta_ads insights/1002: failed, not loaded (its cursor did not move), meta_ads insights [act_1002]" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: meta_ads: loaded every unit except insights/1002: ")
    assert {a for (a,) in rows("SELECT DISTINCT _account_id FROM raw_meta_ads.insights")} == {"1001"}
