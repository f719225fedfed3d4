"""Shared fixtures: a sandbox server on loopback and an isolated data dir per test."""

from __future__ import annotations

import os
from datetime import timedelta

# Airflow configures logging when first imported and replaces the root logger's handlers, pytest's
# log capture among them: imported here, before any test, so caplog sees every test's log lines.
import airflow.sdk  # noqa: F401
import pytest

from sandbox.server import SandboxServer
from sandbox.world import World

SEED = 7
# The session's two DAG runs (pipeline_runs) take about 6 minutes alone and 25+ on a loaded machine;
# whichever test sets them up is given this long, wherever it sorts in the run.
PIPELINE_RUNS_TIMEOUT_S = 2400


def pytest_collection_modifyitems(items):
    for item in items:
        if "pipeline_runs" in item.fixturenames:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(PIPELINE_RUNS_TIMEOUT_S))
        elif item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def world() -> World:
    return World(seed=SEED)


@pytest.fixture
def sandbox(world):
    """A fresh server per test (its clock may be moved), over the session's world."""
    with SandboxServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def server(world):
    """One server per module at the default clock (stopping one takes a while): for tests that do not
    move its clock, or that reset what they change (as test_sandbox_faults' sandbox fixture does)."""
    with SandboxServer(world) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Point every funnelhouse path at a temp folder."""
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FUNNELHOUSE_WAREHOUSE", raising=False)
    monkeypatch.delenv("FUNNELHOUSE_PUBLISHED", raising=False)
    return tmp_path / "data"


@pytest.fixture
def connections(sandbox, monkeypatch):
    """AIRFLOW_CONN_* for every source, pointing at the sandbox."""
    for key, value in sandbox.connections().items():
        monkeypatch.setenv(key, value)
    return sandbox.connections()


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory, world):
    """Run the real DAG twice over the same interval against one sandbox (about 3 minutes), once
    per session: the end-to-end tests and the per-mart tests (e.g. test_email_performance) share it.
    The environment is restored and the sandbox stopped before the tests run, so the run leaves
    nothing behind for other tests; they read the files whose paths it returns."""
    from extractors import settings
    from funnelhouse.__main__ import run_dag
    from tests.pipeline_helpers import column_hashes, table_checksums

    data = tmp_path_factory.mktemp("e2e") / "data"
    saved = dict(os.environ)
    with SandboxServer(world) as server:
        os.environ.update(server.connections())
        os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
        try:
            logical_date = world.end + timedelta(days=1)
            first_code = run_dag(logical_date, data)
            first = {
                "raw": table_checksums(settings.warehouse_path(), "raw\\_%"),
                "marts": table_checksums(settings.published_path(), "marts"),
                "mart_columns": column_hashes(settings.published_path(), "marts"),
            }
            second_code = run_dag(logical_date, data)
            second = {
                "raw": table_checksums(settings.warehouse_path(), "raw\\_%"),
                "marts": table_checksums(settings.published_path(), "marts"),
                "mart_columns": column_hashes(settings.published_path(), "marts"),
            }
            runs = {
                "codes": (first_code, second_code),
                "first": first,
                "second": second,
                "published": settings.published_path(),
                "warehouse": settings.warehouse_path(),
                "data_dir": data,
            }
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return runs


@pytest.fixture(scope="session")
def marts(pipeline_runs):
    """The published marts of the session's DAG runs, read-only."""
    import duckdb

    con = duckdb.connect(str(pipeline_runs["published"]), read_only=True)
    yield con
    con.close()
