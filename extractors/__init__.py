"""funnelhouse extractors: platform APIs -> landing files -> DuckDB raw tables.

Layout: ``sources/`` holds one module per platform (its streams described as
data plus the few lines that speak its contract); ``http`` is the one HTTP
client and retry policy, ``pagination`` the one paginator, ``landing`` and
``loader`` the one path from pages to raw tables, ``pipeline`` ties them
together for the CLI (``python -m extractors``) and the Airflow DAG.
"""
