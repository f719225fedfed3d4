"""
### funnelhouse: integrated-marketing ELT

Every platform's API -> landing files -> DuckDB raw tables -> dbt (staging,
intermediate, marts) -> Great Expectations gate -> atomic publish of the marts
that BI tools read.

- **extract_<source>** (HTTP only, any worker) reads each source's streams for
  the run's data interval into a landing batch in the landing storage
  (`FUNNELHOUSE_LANDING_URL`); credentials come from the source's Airflow
  Connection, named as the source (`hubspot`, `meta_ads`, `google_ads`, `ga4`, `mailchimp`,
  `facebook_pages`, `cbr`: the Bank of Russia's exchange rates, public, no password). Each runs in its
  platform's pool (`api_<platform>`, one slot): one task per API token at a time across every run and backfill.
- **load_<source>**, **raw_quality_gate**, **transform**, **quality_gate**,
  **publish**, **report**, **freshness** open the DuckDB warehouse: they go to the Celery queue `warehouse`
  (`FUNNELHOUSE_WAREHOUSE_QUEUE`), served only by the worker that holds the file,
  and run in the one-slot pool `duckdb_writer`. Each load updates its source's
  Asset `funnelhouse_raw_<source>`; publish updates `funnelhouse_published_marts`.
- A source that fails does not hold back the others: **raw_quality_gate** (then
  **transform**) runs once every load has finished and at least one succeeded, over what is fresh; **freshness**
  (once every load has finished) names every stale source (its cursor short of
  what this run reads up to) and fails the run, so the failure is seen and alerted
  on while BI gets the other sources' numbers.
- The raw gate checks the loaded raw tables before dbt builds; the gate checks the
  marts after. An error-level finding stops the run: nothing is published and BI
  keeps the last good version (`python -m funnelhouse rollback` goes back further);
  warnings are logged and published. **report** writes the HTML report and dbt's docs.
- Backfill (`airflow backfill create --dag-id funnelhouse --from-date ... --to-date ...
  --max-active-runs 1`): each run loads its day as a daily run would; a run whose next
  day's run is already queued skips the raw gate, transform, gate, publish and report, because that run
  builds the marts from everything loaded by then (one build instead of one per day).
- Nothing is published unless the gate passes; BI keeps the last good version.

Why one DAG with per-source Assets rather than a transform DAG scheduled on the
sources' raw Assets: an Asset schedule fires a transform per source update (a build
and publish per source a day, each mixing today's and yesterday's sources) or,
with all of them required, one failing source stops every publish. One run per interval
builds once over every source that loaded, still publishes when one fails, and is
what `airflow backfill create` replays day by day; the Assets still let other DAGs
schedule on a source's raw tables or on the published marts.

Bad credentials, configuration and a platform's permanent refusal (4xx) fail at
once without retries; other platform errors are retried by the extractors' own
retry policy, then by Airflow (after `[core] default_task_retry_delay`, 5 minutes
unless configured). One failing unit (stream x account) never loses the others: an
extract retry reads only the failed units, and the load loads everything read and
then fails naming what was not. Failed tasks post
to the chat webhook of the Connection `funnelhouse_alerts`, if it exists. Optional
Connections: `FUNNELHOUSE_WAREHOUSE_CONN_ID` names a PostgreSQL warehouse's,
`FUNNELHOUSE_LANDING_CONN_ID` the object store's of the landing storage.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, TriggerRule, dag, task

from funnelhouse import SOURCES
from funnelhouse.notify import ChatWebhookNotifier
from funnelhouse.topology import WRITER_POOL, api_pool, warehouse_queue

WAREHOUSE_QUEUE = warehouse_queue()
# "@daily" is a cron trigger in Airflow 3: a run at midnight D reads up to D, and the next run is a day later.
SCHEDULE, EVERY = "@daily", pendulum.duration(days=1)
PUBLISHED_MARTS = Asset(name="funnelhouse_published_marts", uri="file:///funnelhouse/published/marts")


def raw_tables(source: str) -> Asset:
    """The Asset a source's load updates: its raw_<source> tables in the warehouse."""
    return Asset(name=f"funnelhouse_raw_{source}", uri=f"file:///funnelhouse/warehouse/raw_{source}")


def _interval_end(context):
    """Where this run reads up to. Work is keyed on the data interval, never on now(): scheduled and
    backfill runs read up to their interval's end. A manual run reads up to the logical date it was
    triggered with (`airflow dags trigger funnelhouse --logical-date 2026-08-30`, as `airflow dags test`
    and `make run DATE=` do): Airflow 3.3 infers a manual run's interval from when it was triggered,
    not from its logical date. Without a logical date, up to the moment it was asked to run."""
    dag_run = context["dag_run"]
    if dag_run.run_type == "manual":  # a str enum: compare by value
        return dag_run.logical_date or dag_run.run_after
    return context.get("data_interval_end") or dag_run.run_after


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
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # retry_delay is Airflow's [core] default_task_retry_delay (300 s unless configured).
    default_args={"owner": "data-engineering", "retries": 2, "on_failure_callback": [ChatWebhookNotifier()]},
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

        ti = context["ti"]  # on the last try, failed units go to the load, which loads the rest and reports them
        return steps.extract(source, end=_interval_end(context), retries_left=ti.try_number <= ti.max_tries)

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE)
    @_fail_fast_on_bad_input
    def load(source: str, batch: str) -> dict:
        from funnelhouse import steps

        return steps.load(source)

    # Once every load is done and one succeeded: a failed source leaves the others' data to check and build.
    # retries=0: a failed expectation is a finding, not a glitch.
    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE, retries=0, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def raw_quality_gate(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from funnelhouse import steps

        later = steps.later_run_pending(context, EVERY)
        if later:  # skipped, so are transform, the gate, publish and report
            raise AirflowSkipException(f"the run of {later} is queued and builds the marts from everything loaded by then")
        return steps.raw_gate(run_id=context["run_id"])

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE, retries=0)  # a failed dbt test is a finding; retrying will not change it
    def transform(raw_gate_result: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.transform(full_refresh=bool(context["params"].get("full_refresh")))

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE, retries=0)  # a failed expectation is a finding, not a glitch
    def quality_gate(transformed: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.gate(run_id=context["run_id"])

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE, outlets=[PUBLISHED_MARTS])
    def publish(gate_result: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.publish(run_id=context["run_id"])

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE)
    def report(published: dict, **context) -> dict:
        from funnelhouse import steps

        return steps.report(run_id=context["run_id"])

    @task(pool=WRITER_POOL, queue=WAREHOUSE_QUEUE, retries=0, trigger_rule=TriggerRule.ALL_DONE)
    def freshness(**context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from funnelhouse import steps

        report = steps.freshness(SOURCES, _interval_end(context))
        if report["stale"]:
            raise AirflowFailException(report["message"])
        return report

    loads = [
        load.override(task_id=f"load_{source}", outlets=[raw_tables(source)])(
            source, extract.override(task_id=f"extract_{source}", pool=api_pool(source))(source)
        )
        for source in SOURCES
    ]
    checked = raw_quality_gate()
    loads >> checked
    report(publish(quality_gate(transform(checked))))
    # Beside the build, not after it: both are leaves, so a failed gate still fails the run.
    loads >> freshness()


funnelhouse()
