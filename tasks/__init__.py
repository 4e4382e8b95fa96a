"""Thin Prefect tasks: each calls one library function, logs, publishes artifacts and
returns a small manifest (paths and figures, never DataFrames, arrays or models)."""
