"""Prefect flows: wiring only. Each flow reads like a table of contents of its tasks."""

import logging

from flows.log_filters import install_expected_error_filter

install_expected_error_filter()

# The library says what a long phase is doing at INFO (sentiment.core.progress); Prefect
# hands the "sentiment" logger its terminal and run-log handlers
# (PREFECT_LOGGING_EXTRA_LOGGERS) but leaves its level to the root's WARNING.
if logging.getLogger("sentiment").level == logging.NOTSET:
    logging.getLogger("sentiment").setLevel(logging.INFO)
