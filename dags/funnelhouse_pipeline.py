"""
### funnelhouse: integrated-marketing ELT

Every platform's API -> landing files -> DuckDB raw tables -> dbt (staging,
intermediate, marts) -> Great Expectations gate -> atomic publish of the marts
that BI tools read.

- **extract_<source>** (parallel, HTTP only) reads each source's streams for
  the run's data interval into a landing batch; credentials come from the
  source's Airflow Connection (`hubspot`, `meta_ads`, `google_ads`, `ga4`, `mailchimp`).
- **load_<source>**, **raw_quality_gate**, **transform**, **quality_gate**,
  **publish**, **report** open the DuckDB warehouse, which allows one writer: they
  run in the one-slot pool `duckdb_writer`.
- The raw gate checks the loaded raw tables before dbt builds; the gate checks the
  marts after. An error-level finding stops the run: nothing is published and BI
  keeps the last good version (`python -m funnelhouse rollback` goes back further);
  warnings are logged and published. **report** writes the HTML report and dbt's docs.

Bad credentials, configuration and a platform's permanent refusal (4xx) fail at
once without retries; other platform errors are retried by the extractors' own
retry policy, then by Airflow. One failing unit (stream x account) never loses
the others: an extract retry reads only the failed units, and the load loads
everything read and then fails naming what was not.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task

from funnelhouse import SOURCES

WRITER_POOL = "duckdb_writer"
PUBLISHED_MARTS = Asset(name="funnelhouse_published_marts", uri="file:///funnelhouse/published/marts")


def _fail_fast_on_bad_input(fn):
    """A failure a retry would only repeat fails at once, without retries: configuration, credentials,
    a retired API version, a platform's permanent refusal (4xx), and a load whose failed units it
    names after loading the rest (a retry would find nothing left to load and turn the run green).

    Everything else (5xx, timeouts, retries exhausted, quotas) is raised as it is, so Airflow retries:
    an extract that failed after landing the other units reads only the failed ones on its retry.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from airflow.sdk.exceptions import AirflowFailException

        from extractors.errors import ExtractError

        try:
            return fn(*args, **kwargs)
        except ExtractError as exc:
            if exc.retryable:
                raise
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
        ti = context["ti"]  # on the last try, failed units go to the load, which loads the rest and reports them
        return steps.extract(source, end=end, retries_left=ti.try_number <= ti.max_tries)

    @task(pool=WRITER_POOL)
    @_fail_fast_on_bad_input
    def load(source: str, batch: str) -> dict:
        from funnelhouse import steps

        return steps.load(source)

    @task(pool=WRITER_POOL, retries=0)  # a failed expectation is a finding, not a glitch
    def raw_quality_gate(loads: list[dict], **context) -> dict:
        from funnelhouse import steps

        return steps.raw_gate(run_id=context["run_id"])

    @task(pool=WRITER_POOL, retries=0)  # a failed dbt test is a finding; retrying will not change it
    def transform(raw_gate_result: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.transform(full_refresh=bool(context["params"].get("full_refresh")))

    @task(pool=WRITER_POOL, retries=0)  # a failed expectation is a finding, not a glitch
    def quality_gate(transformed: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.gate(run_id=context["run_id"])

    @task(pool=WRITER_POOL, outlets=[PUBLISHED_MARTS])
    def publish(gate_result: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.publish(run_id=context["run_id"])

    @task(pool=WRITER_POOL)
    def report(published: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.report(run_id=context["run_id"])

    loads = [
        load.override(task_id=f"load_{source}")(source, extract.override(task_id=f"extract_{source}")(source))
        for source in SOURCES
    ]
    report(publish(quality_gate(transform(raw_quality_gate(loads)))))


funnelhouse()
