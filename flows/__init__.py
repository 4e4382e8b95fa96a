"""Prefect flows: wiring only. Each flow reads like a table of contents of its tasks."""

from flows.log_filters import install_expected_error_filter

install_expected_error_filter()
