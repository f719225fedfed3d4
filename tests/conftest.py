"""Shared fixtures: a sandbox server on loopback and an isolated data dir per test."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.pipeline_run import marts, pipeline_runs  # noqa: F401  (session fixtures: the DAG runs once per session)

SEED = 7


@pytest.fixture(scope="session")
def world() -> World:
    return World(seed=SEED)


@pytest.fixture
def sandbox(world):
    """A fresh server per test (its clock may be moved), over the session's world."""
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
