"""Write-audit-publish: the published DuckDB file is swapped whole, or not at all."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from funnelhouse.publish import RollbackError, current_run_id, publish, rollback, versions


def build_database(path: Path, *, days: int) -> Path:
    """A build database shaped like the pipeline's: raw and staging data beside the marts,
    and a mart that is a view over staging."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"""
            CREATE SCHEMA raw_hubspot;
            CREATE TABLE raw_hubspot.contacts AS SELECT 'c' || i AS id FROM range(10) r(i);
            CREATE SCHEMA staging;
            CREATE TABLE staging.stg_ads AS
                SELECT DATE '2024-05-01' + i::INTEGER AS date_day, 10.0 * (i + 1) AS spend
                FROM range({days}) r(i);
            CREATE SCHEMA marts;
            CREATE TABLE marts.channel_performance_daily AS
                SELECT date_day, 'paid_search' AS channel, spend FROM staging.stg_ads;
            CREATE VIEW marts.spend_by_channel AS
                SELECT 'paid_search' AS channel, sum(spend) AS spend FROM staging.stg_ads;
            """
        )
    return path


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or p.name.endswith(".wal"))


def test_publish_copies_only_the_marts_and_materialises_views(tmp_path):
    # GIVEN a build database with raw, staging and mart schemas
    build = build_database(tmp_path / "build.duckdb", days=3)
    published = tmp_path / "published.duckdb"

    # WHEN it is published
    before = datetime.now(UTC)
    result = publish(str(build), str(published))

    # THEN the published file holds the marts (views as tables) and the publish metadata only
    assert result.published_db == str(published)
    assert result.row_counts == {"marts.channel_performance_daily": 3, "marts.spend_by_channel": 1}
    assert query(published, "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY 1, 2") == [
        ("marts", "channel_performance_daily", "BASE TABLE"),
        ("marts", "spend_by_channel", "BASE TABLE"),
        ("meta", "publication", "BASE TABLE"),
        ("meta", "published_tables", "BASE TABLE"),
    ]
    assert query(published, "SELECT channel, spend FROM marts.spend_by_channel") == [("paid_search", 60.0)]
    # AND the metadata records what was published, when (UTC) and from where
    assert before <= result.published_at <= datetime.now(UTC)
    assert query(published, "SELECT * FROM meta.published_tables ORDER BY table_name") == [
        ("marts", "channel_performance_daily", 3, result.published_at.replace(tzinfo=None), str(build)),
        ("marts", "spend_by_channel", 1, result.published_at.replace(tzinfo=None), str(build)),
    ]
    # AND which run it came from (a generated id when none is given)
    assert query(published, "SELECT run_id FROM meta.publication") == [(result.run_id,)]
    assert result.run_id.startswith("manual__")
    # AND no temporary file is left behind
    assert leftovers(tmp_path) == []


def test_publish_keeps_versions_and_rollback_makes_an_earlier_one_current(tmp_path):
    # GIVEN three runs published with 3, 5 and 7 days, keeping the last two
    published = tmp_path / "published.duckdb"
    for run, days in (("run-a", 3), ("run-b", 5), ("run-c", 7)):
        publish(str(build_database(tmp_path / f"{run}.duckdb", days=days)), str(published), run_id=run, keep=2)
    assert [v.run_id for v in versions(published)] == ["run-b", "run-c"]
    assert current_run_id(published) == "run-c"

    # WHEN rolled back
    back = rollback(published)

    # THEN the earlier version is current, with its numbers, and the kept copies are untouched
    assert back.run_id == "run-b" and current_run_id(published) == "run-b"
    assert query(published, "SELECT count(*), sum(spend) FROM marts.channel_performance_daily") == [(5, 150.0)]
    assert [v.run_id for v in versions(published)] == ["run-b", "run-c"]
    assert leftovers(tmp_path) == []
    # AND a chosen run can be made current again; with nothing earlier kept, or an unknown run, nothing changes
    rollback(published, "run-c")
    assert query(published, "SELECT count(*) FROM marts.channel_performance_daily") == [(7,)]
    with pytest.raises(RollbackError, match="no kept version of run 'run-a'; kept: run-b, run-c"):
        rollback(published, "run-a")
    rollback(published)
    with pytest.raises(RollbackError, match=r"no version before the current one \(run-b\) is kept"):
        rollback(published)
    assert current_run_id(published) == "run-b"


def test_rollback_command_and_its_clear_error(tmp_path, monkeypatch, capsys):
    from funnelhouse.__main__ import main

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "data"))
    published = tmp_path / "data" / "published" / "funnelhouse.duckdb"
    published.parent.mkdir(parents=True)
    for run, days in (("scheduled__2026-08-29T00:00:00+00:00", 3), ("scheduled__2026-08-30T00:00:00+00:00", 5)):
        publish(str(build_database(tmp_path / f"{days}.duckdb", days=days)), str(published), run_id=run)

    # WHEN `python -m funnelhouse rollback` runs  THEN the earlier run is published again
    assert main(["rollback"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{published} now holds run scheduled__2026-08-29T00:00:00+00:00 (was scheduled__2026-08-30T00:00:00+00:00)"
    )
    assert query(published, "SELECT sum(spend) FROM marts.channel_performance_daily") == [(60.0,)]
    # AND --list marks the current one; an unknown run id is refused with exit 2
    assert main(["rollback", "--list"]) == 0
    assert [line[0] for line in capsys.readouterr().out.splitlines()] == ["*", " "]
    assert main(["rollback", "--to", "nope"]) == 2
    assert "error: no kept version of run 'nope'" in capsys.readouterr().err


READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
print(connection.execute("SELECT count(*) FROM marts.spend_by_channel").fetchone()[0], flush=True)
sys.stdin.readline()  # the test publishes a new version now
print(connection.execute("SELECT count(*) FROM marts.channel_performance_daily").fetchone()[0], flush=True)
print(connection.execute("SELECT sum(spend) FROM marts.channel_performance_daily").fetchone()[0], flush=True)
"""


def test_open_reader_keeps_old_version_while_new_connections_see_new_one(tmp_path):
    # GIVEN a published version with 3 days, held open read-only by a BI process
    published = tmp_path / "published.duckdb"
    publish(str(build_database(tmp_path / "v1.duckdb", days=3)), str(published))
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"  # the reader has the old file open

        # WHEN a version with 5 days is published meanwhile
        result = publish(str(build_database(tmp_path / "v2.duckdb", days=5)), str(published))
        output, errors = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
        reader.wait()

    # THEN the open reader still reads the old version, consistently
    assert reader.returncode == 0, errors
    assert output.split() == ["3", "60.0"]
    # AND a new connection sees the new version
    assert result.row_counts["marts.channel_performance_daily"] == 5
    assert query(published, "SELECT count(*), sum(spend) FROM marts.channel_performance_daily") == [(5, 150.0)]


def test_failed_publish_leaves_published_file_byte_identical(tmp_path):
    # GIVEN a published version
    published = tmp_path / "published.duckdb"
    publish(str(build_database(tmp_path / "v1.duckdb", days=3)), str(published))
    original = hashlib.sha256(published.read_bytes()).hexdigest()

    # WHEN a publish fails after it has copied part of the data (its second schema is missing)
    build = build_database(tmp_path / "v2.duckdb", days=5)
    with pytest.raises(ValueError, match="schema 'reporting' has no tables or views"):
        publish(str(build), str(published), schemas=("marts", "reporting"))

    # THEN the published file is untouched and the half-written copy is gone
    assert hashlib.sha256(published.read_bytes()).hexdigest() == original
    assert query(published, "SELECT count(*) FROM marts.channel_performance_daily") == [(3,)]
    assert leftovers(tmp_path) == []


def test_publish_of_missing_build_database_changes_nothing(tmp_path):
    # GIVEN a published version
    published = tmp_path / "published.duckdb"
    publish(str(build_database(tmp_path / "v1.duckdb", days=3)), str(published))
    original = published.read_bytes()

    # WHEN the build database does not exist
    with pytest.raises(FileNotFoundError):
        publish(str(tmp_path / "missing.duckdb"), str(published))

    # THEN nothing changed
    assert published.read_bytes() == original
    assert leftovers(tmp_path) == []
