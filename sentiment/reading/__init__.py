"""Reading review files: Parquet, CSV and JSON lines (optionally gzipped), local or on an
object store, in bounded record batches, the same way for scoring and labelled intake.

``files`` (formats and the file to read), ``chunks`` (CSV/JSON-lines records cut into
blocks), ``textformats`` (parsing those blocks), ``fingerprint`` (hashing what was read)
and ``readers`` (the batch reader).
"""
