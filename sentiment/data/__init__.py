"""Data: the IMDB archive to raw Parquet (``ingest``), the dataset report (``report``),
labelled batches and data snapshots (``labels``, ``snapshot``) and raw reviews to padded
Parquet (``preprocess``); ``config`` holds the settings."""
