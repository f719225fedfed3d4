"""The Great Expectations gate: validate the marts of a DuckDB build database before publish.

Runs the ``marts_gate`` checkpoint of the file-based GX project in ``expectations/gx``
(one expectation suite per mart table) against the DuckDB file given, writes the
validation results and Data Docs into a folder of its own under ``results_dir``
(default ``<data dir>/gate/<UTC time>/``, never the source tree), keeps the newest
``keep`` such folders, and returns a GateResult. The database is opened read-only and every connection is closed
before run_gate() returns, so the file can be published right after.

    python -m expectations.gate build.duckdb    # one line per suite; exit 1 on failure

Great Expectations is imported inside run_gate(), not at module import: it takes
seconds to import, and Airflow DAG files must stay cheap to parse.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("expectations.gate")  # not __name__: that is "__main__" under -m

GX_DIR = Path(__file__).resolve().parent / "gx"
CHECKPOINT_NAME = "marts_gate"
# great_expectations.yml reads the database path from this config variable, which
# run_gate() supplies as GX runtime_environment (no process environment is touched).
DATABASE_VARIABLE = "FUNNELHOUSE_GATE_DATABASE"
RESULTS_VARIABLE = "FUNNELHOUSE_GATE_RESULTS"  # this run's folder for validation results and Data Docs
MAX_FAILURES_PER_LINE = 5  # the full list is in GateResult and in the Data Docs


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str  # e.g. "expect_column_values_to_be_in_set(column=channel)"
    detail: str  # what was observed, or the error GX hit while computing it


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    row_count: int | None  # observed by the suite's row-count expectation
    evaluated: int
    failed: int
    failures: tuple[ExpectationFailure, ...]

    @property
    def success(self) -> bool:
        return self.failed == 0

    def summary_line(self) -> str:
        status = "PASS" if self.success else "FAIL"
        line = (
            f"{status} {self.suite}: {self.evaluated - self.failed}/{self.evaluated} expectations"
            f" passed, {self.row_count if self.row_count is not None else '?'} rows"
        )
        if self.failures:
            shown = [f.expectation for f in self.failures[:MAX_FAILURES_PER_LINE]]
            if len(self.failures) > MAX_FAILURES_PER_LINE:
                shown.append(f"and {len(self.failures) - MAX_FAILURES_PER_LINE} more")
            line += "; failed: " + ", ".join(shown)
        return line


@dataclass(frozen=True)
class GateResult:
    success: bool
    suites: tuple[SuiteResult, ...]
    data_docs_url: str | None

    def suite(self, name: str) -> SuiteResult:
        return next(s for s in self.suites if s.suite == name)

    @property
    def failing_expectations(self) -> list[str]:
        return [f"{s.suite}: {f.expectation}" for s in self.suites for f in s.failures]


def run_gate(database_path: str, gx_dir: str | Path = GX_DIR, results_dir: str | Path | None = None,
             keep: int | None = None) -> GateResult:
    """Validate the ``marts`` tables of the DuckDB file at ``database_path``."""
    from extractors import settings

    database = Path(database_path).resolve()
    if not database.is_file():
        # Checked here because GX would turn it into one failed expectation per metric.
        raise FileNotFoundError(f"no DuckDB database at {database}")
    results_root = Path(results_dir or settings.gate_results_dir()).resolve()
    run_dir = _new_run_dir(results_root)

    _quiet_great_expectations_logging()
    import great_expectations as gx

    from expectations.gx_duckdb import keep_duckdb_connection_open

    keep_duckdb_connection_open()

    context = gx.get_context(
        mode="file",
        context_root_dir=str(gx_dir),
        runtime_environment={DATABASE_VARIABLE: str(database), RESULTS_VARIABLE: str(run_dir)},
    )
    checkpoint = context.checkpoints.get(CHECKPOINT_NAME)
    logger.info("running checkpoint %s on %s", CHECKPOINT_NAME, database)
    try:
        checkpoint_result = checkpoint.run()
    finally:
        _close_connections(checkpoint)

    suites = tuple(
        _summarise_suite(validation_result)
        for validation_result in checkpoint_result.run_results.values()
    )
    docs = context.get_docs_sites_urls()
    result = GateResult(
        success=bool(checkpoint_result.success),
        suites=suites,
        data_docs_url=docs[0]["site_url"] if docs else None,
    )
    for suite in result.suites:
        (logger.info if suite.success else logger.error)("%s", suite.summary_line())
        for failure in suite.failures:
            logger.info("  %s %s: %s", suite.suite, failure.expectation, failure.detail)
    logger.info("data docs: %s", result.data_docs_url)
    _keep_newest(results_root, keep or settings.gate_results_kept())
    return result


def _new_run_dir(root: Path) -> Path:
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # sorts by time; one folder per run
    run_dir = root / stamp
    run_dir.mkdir(parents=True)
    return run_dir


def _keep_newest(root: Path, keep: int) -> None:
    import shutil

    runs = sorted(p for p in root.iterdir() if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


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
            failures.append(ExpectationFailure(_describe(config), _failure_detail(result)))
    statistics = validation_result.statistics
    return SuiteResult(
        suite=validation_result.suite_name,
        table=validation_result.meta["active_batch_definition"]["data_asset_name"],
        row_count=row_count,
        evaluated=statistics["evaluated_expectations"],
        failed=statistics["unsuccessful_expectations"],
        failures=tuple(failures),
    )


def _describe(config: Any) -> str:
    """Name an expectation by type and the columns it checks, e.g. ``expect_x(column=spend)``."""
    kwargs = config.kwargs
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
            f" e.g. {details.get('partial_unexpected_list', [])}"
        )
    return f"observed {details.get('observed_value')!r}"


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
    parser.add_argument("database", help="DuckDB file whose marts schema to validate")
    parser.add_argument("--gx-dir", default=str(GX_DIR), help="GX project directory (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not Path(args.database).is_file():
        parser.error(f"no such file: {args.database}")
    result = run_gate(args.database, gx_dir=args.gx_dir)
    for suite in result.suites:
        print(suite.summary_line())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
