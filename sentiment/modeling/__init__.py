"""Modeling: Parquet to ``tf.data`` (``dataset``), the model zoo (``zoo``), training
(``training``) and model bundles (``bundle``); ``config`` holds the settings and the
zoo's per-model defaults, and imports nothing heavy."""
