"""The ``sentiment`` console script: one module per command group.

Importing it (and ``sentiment --help``) loads no numba, TensorFlow, Keras, Prefect or
pyarrow: options come from the stage configs, which import nothing heavy, and each
command imports its flow only when it runs.
"""
