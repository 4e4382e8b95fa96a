"""Modeling: Parquet to ``tf.data`` (``dataset``), the model zoo (``zoo``), calibration
(``calibration``), the compiled scorer of linear bundles (``linear``), training
(``training``) and model bundles (``bundle``); ``config`` holds the settings and the
zoo's per-model defaults, and imports nothing heavy."""
