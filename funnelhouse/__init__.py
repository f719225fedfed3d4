"""The pipeline's steps (extract, load, transform, gate, publish) as plain functions.

The Airflow DAG in dags/ calls these and nothing else, so the same steps run
from the command line (``python -m funnelhouse``) and in tests.
"""

# Sources the DAG runs. Kept here, import-free, so parsing the DAG file stays cheap.
SOURCES = ("hubspot", "meta_ads")
