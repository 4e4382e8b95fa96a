"""Data: the IMDB archive to raw Parquet (``ingest``), the dataset report (``report``)
and raw reviews to padded Parquet (``preprocess``); ``config`` holds the settings."""
