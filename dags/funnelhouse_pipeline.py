"""
### funnelhouse: integrated-marketing ELT

Every platform's API -> landing files -> DuckDB raw tables -> dbt (staging,
intermediate, marts) -> Great Expectations gate -> atomic publish of the marts
that BI tools read.

- **extract_<source>** (parallel, HTTP only) reads each source's streams for
  the run's data interval into a landing batch; credentials come from the
  source's Airflow Connection (`hubspot`, `meta_ads`, `google_ads`, `ga4`, `mailchimp`,
  `facebook_pages`, `cbr`: the Bank of Russia's exchange rates).
- **load_<source>**, **transform**, **quality_gate**, **publish** open the
  DuckDB warehouse, which allows one writer: they run in the one-slot pool
  `duckdb_writer`.
- Nothing is published unless the gate passes; BI keeps the last good version.

Bad credentials or configuration fail at once without retries; platform
errors are retried by the extractors' own retry policy, then by Airflow.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task

from funnelhouse import SOURCES

WRITER_POOL = "duckdb_writer"
PUBLISHED_MARTS = Asset(name="funnelhouse_published_marts", uri="file:///funnelhouse/published/marts")


def _fail_fast_on_bad_input(fn):
    """Configuration and credential errors will not fix themselves: fail without retries.

    So does a load where some accounts failed: the others are loaded, and a retry
    would find nothing left to load and turn the run green, hiding the failure.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from airflow.sdk.exceptions import AirflowFailException

        from extractors.errors import AuthError, ConfigError, PartialFailure

        try:
            return fn(*args, **kwargs)
        except (ConfigError, AuthError, PartialFailure) as exc:
            raise AirflowFailException(str(exc)) from None

    return wrapper


@dag(
    dag_id="funnelhouse",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    doc_md=__doc__,
    tags=["funnelhouse", "marketing"],
    # Trigger with {"full_refresh": true} to rebuild the incremental dbt models from scratch.
    params={"full_refresh": Param(False, type="boolean", description="dbt build --full-refresh")},
)
def funnelhouse():
    @task
    @_fail_fast_on_bad_input
    def extract(source: str, **context) -> str:
        from funnelhouse import steps

        # Work is keyed on the data interval, never on now(). Runs triggered without a
        # logical date have no interval: they read up to the moment they were asked to run.
        end = context.get("data_interval_end") or context["dag_run"].run_after
        return steps.extract(source, end=end)

    @task(pool=WRITER_POOL)
    @_fail_fast_on_bad_input
    def load(source: str, batch: str) -> dict:
        from funnelhouse import steps

        return steps.load(source)

    @task(pool=WRITER_POOL, retries=0)  # a failed dbt test is a finding; retrying will not change it
    def transform(loads: list[dict], **context) -> dict:
        from funnelhouse import steps

        return steps.transform(full_refresh=bool(context["params"].get("full_refresh")))

    @task(pool=WRITER_POOL, retries=0)  # a failed expectation is a finding, not a glitch
    def quality_gate(transformed: dict) -> dict:
        from funnelhouse import steps

        return steps.gate()

    @task(pool=WRITER_POOL, outlets=[PUBLISHED_MARTS])
    def publish(gate_result: dict) -> dict:
        from funnelhouse import steps

        return steps.publish()

    loads = [
        load.override(task_id=f"load_{source}")(source, extract.override(task_id=f"extract_{source}")(source))
        for source in SOURCES
    ]
    publish(quality_gate(transform(loads)))


funnelhouse()
