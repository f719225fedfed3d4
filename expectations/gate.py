"""The Great Expectations gate: validate a DuckDB build database before dbt runs and before publish.

Two phases, each a checkpoint over the file-based GX project in ``expectations/gx``:

- ``raw`` (after the loads, before dbt): one suite per raw table (columns and types, keys
  unique and not null, numbers never negative, dates inside the window their load read), the
  rows per report stream and day against the median of the last runs (``gate.volumes``), and
  each source's newest load against the freshness its dbt sources YAML declares
  (``gate.freshness``). The last two read tables this module computes first, from the
  loader's history (``_funnelhouse.loaded_windows`` / ``loaded_batches``).
- ``marts`` (after dbt): one suite per mart (ranges, distributions, cross-column rules) and
  the reconciliation suites (mart totals equal raw totals: spend per platform and day, won
  revenue, leads).

dbt tests own keys, nulls, relationships and accepted values of the models; GX owns the rest.
An expectation's severity decides: ``critical`` fails the gate (nothing is built or published),
``warning`` is reported with its failing values and lets the run go on. A suite whose tables
are absent (a source not extracted) is skipped and listed. Every run's verdict and findings are
stored in ``_funnelhouse.gate_runs`` and ``_funnelhouse.gate_findings`` of the database, its GX
validation results and the Data Docs in a folder of the run under ``<data dir>/gate/`` (never the
source tree; the newest ``FUNNELHOUSE_GATE_RUNS_KEPT`` stay).

    python -m expectations.gate build.duckdb [--phase raw]   # one line per suite; exit 1 on failure

Great Expectations is imported inside run_gate(), not at module import: it takes
seconds to import, and Airflow DAG files must stay cheap to parse.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from extractors.postgres import PostgresWarehouse
from extractors.sql import BOOKKEEPING_SCHEMA

logger = logging.getLogger("expectations.gate")  # not __name__: that is "__main__" under -m

GX_DIR = Path(__file__).resolve().parent / "gx"
DBT_SOURCES = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "staging"
PHASES = {"raw": ("raw_", "gate."), "marts": ("marts.", "reconcile.")}  # suite name prefixes per phase
# great_expectations.yml reads the database path from this config variable, which
# run_gate() supplies as GX runtime_environment (no process environment is touched).
DATABASE_VARIABLE = "FUNNELHOUSE_GATE_DATABASE"
RESULTS_VARIABLE = "FUNNELHOUSE_GATE_RESULTS"  # this run's folder for validation results, checkpoints and Data Docs
MAX_FAILURES_PER_LINE = 5  # the full list is in GateResult and in the Data Docs
VALUES_PER_FAILURE = 3  # failing values quoted per expectation in logs and the run summary
# Volume against history: a report stream's rows for a day may fall by at most this share of
# the median rows per day of its last runs.
VOLUME_DROP = float(os.environ.get("FUNNELHOUSE_GATE_VOLUME_DROP", "0.5"))
VOLUME_RUNS = int(os.environ.get("FUNNELHOUSE_GATE_VOLUME_RUNS", "7"))
_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str  # e.g. "expect_column_values_to_be_in_set(column=channel)"
    detail: str  # what was observed (a few failing values), or the error GX hit while computing it
    severity: str = "error"  # "error" blocks publish, "warning" is reported


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    row_count: int | None  # observed by the suite's row-count expectation
    evaluated: int
    failed: int
    failures: tuple[ExpectationFailure, ...]

    @property
    def errors(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity == "error")

    @property
    def warnings(self) -> tuple[ExpectationFailure, ...]:
        return tuple(f for f in self.failures if f.severity == "warning")

    @property
    def success(self) -> bool:
        return not self.errors

    def summary_line(self) -> str:
        status = "FAIL" if self.errors else ("WARN" if self.warnings else "PASS")
        line = (
            f"{status} {self.suite}: {self.evaluated - self.failed}/{self.evaluated} expectations"
            f" passed, {self.row_count if self.row_count is not None else '?'} rows"
        )
        for label, failures in (("failed", self.errors), ("warned", self.warnings)):
            if failures:
                shown = [f.expectation for f in failures[:MAX_FAILURES_PER_LINE]]
                if len(failures) > MAX_FAILURES_PER_LINE:
                    shown.append(f"and {len(failures) - MAX_FAILURES_PER_LINE} more")
                line += f"; {label}: " + ", ".join(shown)
        return line


@dataclass(frozen=True)
class GateResult:
    success: bool
    suites: tuple[SuiteResult, ...]
    data_docs_url: str | None
    phase: str = "marts"
    run_id: str = ""
    skipped: tuple[str, ...] = field(default=())  # suites whose tables are absent

    def suite(self, name: str) -> SuiteResult:
        return next(s for s in self.suites if s.suite == name)

    @property
    def failing_expectations(self) -> list[str]:
        """Error-level failures, "suite: expectation"."""
        return [f"{s.suite}: {f.expectation}" for s in self.suites for f in s.errors]

    @property
    def warning_expectations(self) -> list[str]:
        return [f"{s.suite}: {f.expectation}" for s in self.suites for f in s.warnings]

    def findings(self, severity: str) -> list[str]:
        """One line per failure of that severity, with a few failing values."""
        return [f"{s.suite}: {f.expectation}: {f.detail}" for s in self.suites for f in s.failures if f.severity == severity]

    @property
    def evaluated(self) -> int:
        return sum(s.evaluated for s in self.suites)


def run_gate(
    database_path: str | PostgresWarehouse,
    gx_dir: str | Path = GX_DIR,
    *,
    phase: str = "marts",
    run_id: str | None = None,
    results_dir: str | Path | None = None,
    keep: int | None = None,
) -> GateResult:
    """Validate the DuckDB file at ``database_path``: its raw tables (phase ``raw``) or its marts.

    Needs write access to the file (the volume and freshness inputs and the run's results are
    stored in it); the caller holds the warehouse lock. GX itself opens it read-only. A
    PostgresWarehouse is validated the same way, through a PostgreSQL copy of the GX project
    written into the run's folder (_postgres_project). Validation
    results and Data Docs go to a folder of this run under ``results_dir`` (default
    ``<data dir>/gate/``, never the source tree); the newest ``keep`` folders stay.
    """
    from extractors import settings

    if phase not in PHASES:
        raise ValueError(f"unknown gate phase {phase!r}: choose from {', '.join(PHASES)}")
    if isinstance(database_path, PostgresWarehouse):
        database = database_path
    else:
        database = Path(database_path).resolve()
        if not database.is_file():
            # Checked here because GX would turn it into one failed expectation per metric.
            raise FileNotFoundError(f"no DuckDB database at {database}")
    run_id = run_id or f"manual__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"
    checked_at = datetime.now(UTC)
    results_root = Path(results_dir or settings.gate_results_dir()).resolve()
    run_dir = _new_run_dir(results_root, phase, checked_at)
    with _connect(database) as connection:
        if phase == "raw":
            _write_volume_check(connection, run_id, checked_at)
            _write_freshness(connection, run_id, checked_at)
        existing = _existing_tables(connection)

    _quiet_great_expectations_logging()
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    from expectations.gx_duckdb import keep_duckdb_connection_open

    keep_duckdb_connection_open()

    # GX re-saves the suites and validation definitions a checkpoint names (in its own layout), so the
    # context opens a copy in this run's folder: the committed project is never written by a run.
    database_setting = str(database)
    if isinstance(database, PostgresWarehouse):
        project, database_setting = _postgres_project(Path(gx_dir), run_dir), _sqlalchemy_url(database)
    else:
        project = run_dir / "gx_project"
        shutil.copytree(gx_dir, project, ignore=shutil.ignore_patterns("uncommitted"))
    context = gx.get_context(
        mode="file",
        context_root_dir=str(project),
        runtime_environment={DATABASE_VARIABLE: database_setting, RESULTS_VARIABLE: str(run_dir)},
    )
    selected, skipped = [], []
    for definition in sorted(context.validation_definitions.all(), key=_suite_order):
        if not definition.name.startswith(PHASES[phase]):
            continue
        missing = [t for t in definition.suite.meta.get("requires", []) if t not in existing]
        (skipped if missing else selected).append(definition if not missing else definition.name)
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{phase}_gate",
            validation_definitions=selected,
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            # COMPLETE: unexpected-rows expectations return their first rows (the failing values)
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": VALUES_PER_FAILURE + 2},
        )
    )  # stored in this run's results folder: the suites to run depend on the tables present
    logger.info("running the %s gate (%d suites, %d skipped) on %s", phase, len(selected), len(skipped), database)
    try:
        checkpoint_result = checkpoint.run(run_id=RunIdentifier(run_name=run_id, run_time=checked_at))
    finally:
        _close_connections(checkpoint)

    suites = tuple(_summarise_suite(validation_result) for validation_result in checkpoint_result.run_results.values())
    docs = context.get_docs_sites_urls()
    result = GateResult(
        success=all(s.success for s in suites),
        suites=suites,
        data_docs_url=docs[0]["site_url"] if docs else None,
        phase=phase,
        run_id=run_id,
        skipped=tuple(skipped),
    )
    with _connect(database) as connection:
        _record_run(connection, result, checked_at)
    for suite in result.suites:
        (logger.info if suite.success and not suite.warnings else logger.warning if suite.success else logger.error)(
            "%s", suite.summary_line()
        )
        for failure in suite.failures:
            (logger.error if failure.severity == "error" else logger.warning)(
                "  %s %s %s: %s", failure.severity.upper(), suite.suite, failure.expectation, failure.detail
            )
    if skipped:
        logger.info("skipped (tables absent): %s", ", ".join(skipped))
    logger.info("data docs: %s", result.data_docs_url)
    _keep_newest(results_root, keep or settings.gate_results_kept())
    return result


@contextmanager
def _connect(database: Path | PostgresWarehouse) -> Iterator[Any]:
    """The build database for the gate's own tables: the DuckDB file, or PostgreSQL through
    extractors.postgres.Connection (the same execute/fetch calls)."""
    if isinstance(database, PostgresWarehouse):
        from extractors.postgres import connect

        with connect(database) as connection:
            yield connection
        return
    with duckdb.connect(str(database)) as connection:
        yield connection


def _is_postgres(connection: Any) -> bool:
    return not isinstance(connection, duckdb.DuckDBPyConnection)


def _postgres_project(gx_dir: Path, run_dir: Path) -> Path:
    """A copy of the GX project for a PostgreSQL warehouse, in the run's folder: the generated suites
    in PostgreSQL's SQL (the hand-written mart suites are GX's own expectations, which GX writes in
    either dialect) and the datasource on a psycopg2 URL in UTC, read-only."""
    import shutil

    import yaml

    from expectations import suites

    project = run_dir / "gx_postgres"
    shutil.copytree(gx_dir, project, ignore=shutil.ignore_patterns("uncommitted"))
    suites.write(project, dialect=suites.POSTGRES)
    config_path = project / "great_expectations.yml"
    config = yaml.safe_load(config_path.read_text())
    datasource = config["fluent_datasources"][suites.DATASOURCE]
    datasource["connection_string"] = "${" + DATABASE_VARIABLE + "}"
    datasource["kwargs"] = {"connect_args": {"options": "-c TimeZone=UTC -c default_transaction_read_only=on"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, default_flow_style=False))
    return project


def _sqlalchemy_url(warehouse: PostgresWarehouse) -> str:
    from urllib.parse import quote

    p = warehouse.parts
    password = f":{quote(p['password'], safe='')}" if p["password"] else ""
    return f"postgresql+psycopg2://{quote(p['user'], safe='')}{password}@{p['host']}:{p['port']}/{quote(p['dbname'], safe='')}"


def _new_run_dir(root: Path, phase: str, checked_at: datetime) -> Path:
    run_dir = root / f"{checked_at:%Y%m%dT%H%M%S%fZ}-{phase}"  # sorts by time; one folder per gate run
    run_dir.mkdir(parents=True)
    return run_dir


def _keep_newest(root: Path, keep: int) -> None:
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _suite_order(definition: Any) -> tuple[int, str]:
    # Table suites first (in name order), then the ones across tables (gate.*, reconcile.*).
    return (0 if definition.name.startswith(("marts.", "raw_")) else 1, definition.name)


# ---- gate inputs computed from the warehouse's history ----------------------------------------------


def _write_volume_check(connection: duckdb.DuckDBPyConnection, run_id: str, checked_at: datetime) -> None:
    """Rows per day of every daily report stream's latest loaded window -> gate_volume_history (kept)
    and gate_volume_check (this run against the median of the last VOLUME_RUNS runs).

    The window's last UTC day is left out: platforms report days in the account's time zone,
    and west of UTC that day is still in progress when the run reads it (it is re-read, whole,
    by the next run's lookback)."""
    from extractors.sources import registry

    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA}")
    connection.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.gate_volume_history (
        run_id VARCHAR NOT NULL, checked_at TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL, stream VARCHAR NOT NULL,
        account_id VARCHAR NOT NULL, date_day DATE NOT NULL, rows BIGINT NOT NULL)""")
    connection.execute(f"DELETE FROM {BOOKKEEPING_SCHEMA}.gate_volume_history WHERE run_id = ?", [run_id])
    tables = _existing_tables(connection)
    postgres = _is_postgres(connection)
    if {f"{BOOKKEEPING_SCHEMA}.loaded_windows", f"{BOOKKEEPING_SCHEMA}.loaded_batches"} <= tables:
        latest = connection.execute(f"""SELECT source, stream, account_id, window_start, window_end FROM (
            SELECT w.source, w.stream, w.account_id, w.window_start, w.window_end,
                   row_number() OVER (PARTITION BY w.source, w.stream, w.account_id
                                      ORDER BY b.loaded_at DESC, w.window_end DESC) AS newest_first
            FROM {BOOKKEEPING_SCHEMA}.loaded_windows w JOIN {BOOKKEEPING_SCHEMA}.loaded_batches b USING (batch_id)) windows
            WHERE newest_first = 1""").fetchall()
        sources = registry()
        for source, stream_name, account, window_start, window_end in latest:
            table = f"raw_{source}.{stream_name}"
            if source not in sources or table not in tables:
                continue
            stream = sources[source].stream(stream_name)
            if not stream.rows_every_day:
                continue  # a day without rows is normal there: rows per day say nothing
            key = next(k for k in stream.keys if k.name == stream.window_key)
            day = f'"{key.name}"' if key.sql_type == "DATE" else f"CAST(\"{key.name}\" AT TIME ZONE 'UTC' AS DATE)"
            # the days of [window start, window end - 1 day]
            first, last = (
                "CAST(CAST(? AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE)",
                "CAST((CAST(? AS TIMESTAMPTZ) - INTERVAL '1 day' - INTERVAL '1 microsecond') AT TIME ZONE 'UTC' AS DATE)",
            )
            days = (
                f"CAST(generate_series(CAST({first} AS TIMESTAMP), CAST({last} AS TIMESTAMP), INTERVAL '1 day') AS DATE)"
                if postgres
                else "CAST(unnest(generate_series(CAST(?::TIMESTAMPTZ AT TIME ZONE 'UTC' AS DATE),"
                " CAST((?::TIMESTAMPTZ - INTERVAL 1 DAY - INTERVAL 1 MICROSECOND) AT TIME ZONE 'UTC' AS DATE),"
                " INTERVAL 1 DAY)) AS DATE)"
            )
            connection.execute(
                f"""INSERT INTO {BOOKKEEPING_SCHEMA}.gate_volume_history
                SELECT ?, ?, ?, ?, ?, days.date_day, count(r._account_id)
                FROM (SELECT {days} AS date_day) days
                LEFT JOIN (SELECT _account_id, {day} AS date_day FROM {table} WHERE _account_id = ?) r
                    ON r.date_day = days.date_day
                GROUP BY days.date_day""",
                [run_id, checked_at, source, stream_name, account, window_start, window_end, account],
            )
    median = "percentile_cont(0.5) WITHIN GROUP (ORDER BY rows)" if postgres else "median(rows)"
    connection.execute(f"DROP TABLE IF EXISTS {BOOKKEEPING_SCHEMA}.gate_volume_check")
    connection.execute(
        f"""CREATE TABLE {BOOKKEEPING_SCHEMA}.gate_volume_check AS
        WITH previous_runs AS (
            SELECT run_id FROM {BOOKKEEPING_SCHEMA}.gate_volume_history WHERE run_id <> ?
            GROUP BY run_id ORDER BY max(checked_at) DESC LIMIT ?),
        baseline AS (
            SELECT source, stream, account_id, {median} AS baseline_rows, count(DISTINCT run_id) AS runs_in_baseline
            FROM {BOOKKEEPING_SCHEMA}.gate_volume_history WHERE run_id IN (SELECT run_id FROM previous_runs)
            GROUP BY source, stream, account_id)
        SELECT c.source, c.stream, c.account_id, c.date_day, c.rows, b.baseline_rows,
               coalesce(b.runs_in_baseline, 0) AS runs_in_baseline,
               CAST(ceil(b.baseline_rows * (1 - CAST(? AS DOUBLE PRECISION))) AS BIGINT) AS min_rows
        FROM {BOOKKEEPING_SCHEMA}.gate_volume_history c LEFT JOIN baseline b USING (source, stream, account_id)
        WHERE c.run_id = ?""",
        [run_id, VOLUME_RUNS, VOLUME_DROP, run_id],
    )


def declared_freshness(sources_dir: Path = DBT_SOURCES) -> dict[str, tuple[str, float | None, float | None]]:
    """{raw schema: (loaded_at_field, warn_after hours, error_after hours)} from the dbt sources YAML."""
    import yaml

    declared = {}
    for path in sorted(sources_dir.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text()).get("sources") or []:
            config = source.get("config") or {}
            freshness = config.get("freshness") or source.get("freshness") or {}
            field_name = config.get("loaded_at_field") or source.get("loaded_at_field") or "_loaded_at"

            def hours(threshold: dict | None) -> float | None:
                return threshold["count"] * _HOURS[threshold["period"]] if threshold else None

            declared[source.get("schema") or source["name"]] = (
                field_name,
                hours(freshness.get("warn_after")),
                hours(freshness.get("error_after")),
            )
    return declared


def _write_freshness(connection: duckdb.DuckDBPyConnection, run_id: str, checked_at: datetime) -> None:
    rows = []
    tables = _existing_tables(connection)
    for schema, (field_name, warn_hours, error_hours) in declared_freshness().items():
        source_tables = sorted(t for t in tables if t.startswith(f"{schema}.") and not t.split(".", 1)[1].startswith("_"))
        if not source_tables:
            continue  # not extracted by this deployment
        union = " UNION ALL ".join(f'SELECT max("{field_name}") AS newest FROM {t}' for t in source_tables)
        (newest,) = connection.execute(f"SELECT max(newest) FROM ({union}) AS per_table").fetchone()
        lag = None if newest is None else (checked_at - newest).total_seconds() / 3600
        rows.append((run_id, schema.removeprefix("raw_"), newest, checked_at, lag, warn_hours, error_hours))
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA}")
    connection.execute(f"DROP TABLE IF EXISTS {BOOKKEEPING_SCHEMA}.gate_freshness")
    connection.execute(f"""CREATE TABLE {BOOKKEEPING_SCHEMA}.gate_freshness (run_id VARCHAR, source VARCHAR,
        newest_loaded_at TIMESTAMPTZ, checked_at TIMESTAMPTZ, lag_hours DOUBLE PRECISION, warn_after_hours DOUBLE PRECISION,
        error_after_hours DOUBLE PRECISION)""")
    for row in rows:  # one row per source, a handful
        connection.execute(f"INSERT INTO {BOOKKEEPING_SCHEMA}.gate_freshness VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))


def _existing_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}" for s, t in connection.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }


def _record_run(connection: duckdb.DuckDBPyConnection, result: GateResult, checked_at: datetime) -> None:
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA}")
    connection.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.gate_runs (run_id VARCHAR NOT NULL, phase VARCHAR NOT NULL,
        checked_at TIMESTAMPTZ NOT NULL, success BOOLEAN NOT NULL, suites INTEGER NOT NULL, evaluated INTEGER NOT NULL,
        errors INTEGER NOT NULL, warnings INTEGER NOT NULL, skipped VARCHAR[] NOT NULL, data_docs VARCHAR)""")
    connection.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.gate_findings (run_id VARCHAR NOT NULL, phase VARCHAR NOT NULL,
        suite VARCHAR NOT NULL, expectation VARCHAR NOT NULL, severity VARCHAR NOT NULL, detail VARCHAR NOT NULL)""")
    connection.execute(
        f"DELETE FROM {BOOKKEEPING_SCHEMA}.gate_runs WHERE run_id = ? AND phase = ?", [result.run_id, result.phase]
    )
    connection.execute(
        f"DELETE FROM {BOOKKEEPING_SCHEMA}.gate_findings WHERE run_id = ? AND phase = ?", [result.run_id, result.phase]
    )
    errors = sum(len(s.errors) for s in result.suites)
    warnings = sum(len(s.warnings) for s in result.suites)
    connection.execute(
        f"INSERT INTO {BOOKKEEPING_SCHEMA}.gate_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.run_id,
            result.phase,
            checked_at,
            result.success,
            len(result.suites),
            result.evaluated,
            errors,
            warnings,
            list(result.skipped),
            result.data_docs_url,
        ],
    )
    findings = [
        (result.run_id, result.phase, s.suite, f.expectation, f.severity, f.detail) for s in result.suites for f in s.failures
    ]
    if findings:  # one statement for the few rows, not a row-by-row executemany
        connection.execute(
            f"INSERT INTO {BOOKKEEPING_SCHEMA}.gate_findings VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(findings)),
            [value for row in findings for value in row],
        )


def _quiet_great_expectations_logging() -> None:
    # GX logs routine steps at INFO; keep its warnings, drop the rest, unless the
    # application has already chosen a level for it.
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)


def _close_connections(checkpoint: Any) -> None:
    # The execution engine holds the persisted DuckDB connection; GX only closes it
    # when the engine is garbage-collected, and the publisher needs the file now.
    # close() is idempotent, and the definitions usually share one datasource.
    for validation_definition in checkpoint.validation_definitions:
        validation_definition.data.data_asset.datasource.get_execution_engine().close()


def _summarise_suite(validation_result: Any) -> SuiteResult:
    row_count = None
    failures = []
    for result in validation_result.results:
        config = result.expectation_config
        if config.type == "expect_table_row_count_to_be_between":
            row_count = result.result.get("observed_value")  # absent if the count failed
        if not result.success:
            failures.append(ExpectationFailure(_describe(config), _failure_detail(result), _severity(config)))
    statistics = validation_result.statistics
    return SuiteResult(
        suite=validation_result.suite_name,
        table=validation_result.meta["active_batch_definition"]["data_asset_name"],
        row_count=row_count,
        evaluated=statistics["evaluated_expectations"],
        failed=statistics["unsuccessful_expectations"],
        failures=tuple(failures),
    )


def _severity(config: Any) -> str:
    # GX's FailureSeverity: critical blocks publish; warning (and info) are reported only.
    return "error" if str(getattr(config.severity, "value", config.severity)) == "critical" else "warning"


def _describe(config: Any) -> str:
    """Name an expectation by type and the columns it checks, e.g. ``expect_x(column=spend)``;
    an unexpected-rows expectation by the name its description starts with."""
    kwargs = config.kwargs
    if config.type == "unexpected_rows_expectation":
        description = getattr(config, "description", None) or kwargs.get("description") or ""
        return f"{config.type}({description.split(':', 1)[0]})"
    parts = []
    for key in ("column", "column_list", "column_A", "column_B"):
        if key in kwargs:
            value = kwargs[key]
            parts.append(f"{key}={','.join(value) if isinstance(value, list) else value}")
    if kwargs.get("row_condition"):
        parts.append(f"where {_describe_condition(kwargs['row_condition'])}")
    return f"{config.type}({', '.join(parts)})"


def _describe_condition(condition: Any) -> str:
    if isinstance(condition, dict) and {"column", "operator", "parameter"} <= condition.keys():
        return f"{condition['column']['name']} {condition['operator']} {condition['parameter']}"
    return str(condition)


def _failure_detail(result: Any) -> str:
    message = _exception_message(result.exception_info or {})
    if message:
        return f"error: {message.splitlines()[0]}"
    details = result.result or {}
    if "unexpected_count" in details:
        return (
            f"{details['unexpected_count']} unexpected rows,"
            f" e.g. {details.get('partial_unexpected_list', [])[:VALUES_PER_FAILURE]}"
        )
    rows = (details.get("details") or {}).get("unexpected_rows")
    if rows is not None:
        shown = "; ".join(", ".join(f"{k}={_plain(v)}" for k, v in row.items()) for row in rows[:VALUES_PER_FAILURE])
        return f"{details.get('observed_value')} unexpected rows, e.g. {shown}"
    return f"observed {details.get('observed_value')!r}"


def _plain(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _exception_message(exception_info: dict) -> str | None:
    # GX reports either one {"raised_exception", "exception_message"} dict or one such
    # dict per metric that failed to compute, keyed by metric id.
    if "raised_exception" in exception_info:
        return exception_info.get("exception_message") if exception_info["raised_exception"] else None
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("exception_message"):
            return info["exception_message"]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expectations.gate", description=__doc__.splitlines()[0])
    parser.add_argument("database", help="DuckDB build database to validate")
    parser.add_argument("--phase", choices=sorted(PHASES), default="marts", help="raw tables or marts (default: %(default)s)")
    parser.add_argument("--gx-dir", default=str(GX_DIR), help="GX project directory (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not Path(args.database).is_file():
        parser.error(f"no such file: {args.database}")
    result = run_gate(args.database, gx_dir=args.gx_dir, phase=args.phase)
    for suite in result.suites:
        print(suite.summary_line())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
