"""``python -m extractors <source> --start YYYY-MM-DD --end YYYY-MM-DD``: extract and load one source.

Dates are whole UTC days, both inclusive. Without --start, each stream resumes
from its saved cursor (minus its lookback), or reads its full history on the
first run. Credentials come from the Airflow Connection of the source
(AIRFLOW_CONN_<CONN_ID>). Exit codes: 0 everything read was loaded; 1 the platform
refused or kept failing: the units (stream x account) that could be read are loaded
and listed, the failed ones are named and keep their cursors, so the next run reads
them; 2 bad input (arguments, connection, extras, a retired API version).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime, timedelta

from extractors import settings
from extractors.errors import ConfigError, ExtractError, PartialFailure


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date in YYYY-MM-DD form") from None


def main(argv: list[str] | None = None) -> int:
    from extractors.sources import SOURCES

    parser = argparse.ArgumentParser(prog="python -m extractors", description=__doc__.split("\n")[0])
    parser.add_argument("source", help=f"the source to read: {', '.join(SOURCES)}")
    parser.add_argument("--start", type=_day, help="first day to read (default: resume from the saved cursor)")
    parser.add_argument("--end", type=_day, help="last day to read, inclusive (default: yesterday, UTC)")
    parser.add_argument("--stream", action="append", dest="streams", help="only this stream (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Quiet Airflow's own logging (it is imported only to read the connection).
    logging.getLogger("airflow").setLevel(logging.WARNING)

    from extractors import pipeline
    from extractors.sources import get_source

    try:
        source = get_source(args.source)
        for name in args.streams or []:
            source.stream(name)
        end_day = args.end or (datetime.now(UTC).date() - timedelta(days=1))
        if args.start and args.start > end_day:
            raise ConfigError(f"--start {args.start} is after --end {end_day}: give a start on or before the end")
        if end_day > datetime.now(UTC).date():
            raise ConfigError(f"--end {end_day} is in the future: the last day you can read is today")
        start = datetime.combine(args.start, datetime.min.time(), UTC) if args.start else None
        end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), UTC)
        warehouse, landing = settings.warehouse_path(), settings.landing_dir()
        pipeline.extract(source.name, start=start, end=end, stream_names=args.streams, warehouse=warehouse, landing_root=landing)
        results = pipeline.load(source.name, warehouse=warehouse, landing_root=landing)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PartialFailure as exc:  # what could be read is loaded: show it, then what failed
        _report(exc.results)
        for unit, reason in sorted(exc.failed.items()):
            print(f"{source.name} {unit}: failed, not loaded (its cursor did not move), {reason}")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _report(results)
    print(settings.warehouse_path())
    return 0


def _report(results) -> None:
    for result in results:
        for table, rows in sorted(result.table_rows.items()):
            stream = table.split(".", 1)[1]
            print(
                f"{table}: {result.loaded.get(stream, 0)} records loaded, {result.quarantined.get(stream, 0)} quarantined, {rows} rows in table"
            )
        for unit, reason in sorted(result.skipped_streams.items()):
            print(f"{result.source} {unit}: skipped, {reason}")


if __name__ == "__main__":
    sys.exit(main())
