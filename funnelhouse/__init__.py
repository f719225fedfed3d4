"""The pipeline's steps (extract, load, transform, gate, publish) as plain functions.

The Airflow DAG in dags/ calls these and nothing else, so the same steps run
from the command line (``python -m funnelhouse``) and in tests.
"""

import os
from pathlib import Path

# The repository: dbt_project/ and dags/ sit beside this package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The sources the DAG extracts: FUNNELHOUSE_SOURCES (comma-separated) picks them,
# e.g. "hubspot,meta_ads,google_ads,ga4,mailchimp,facebook_pages". The default is
# every source the marts are built from (Mailchimp feeds email_performance, facebook_pages the
# social_* marts, cbr the Bank of Russia's exchange rates every amount is converted at; with dbt var
# fx_rates_source: seed it may be left out). Read from the environment, not from files, so parsing
# the DAG file stays cheap.
DEFAULT_SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages", "cbr")
SOURCES = tuple(s.strip() for s in os.environ.get("FUNNELHOUSE_SOURCES", ",".join(DEFAULT_SOURCES)).split(",") if s.strip())
