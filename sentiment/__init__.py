"""sentiment: the library behind the review-scoring pipeline.

Every stage lives in its own module and imports neither Prefect nor the CLI, so the
library can be used and tested on its own:

- ``ingest``: IMDB archive to raw Parquet; ``report``: the dataset report.
- ``vectorizer`` and ``preprocess``: raw text to padded integer sequences.
- ``models``, ``training`` and ``bundle``: the model zoo, training and model bundles.
- ``evaluation``, ``gate`` and ``registry``: metrics, promotion policy and the ledger.
- ``readers`` and ``scoring``: batch scoring of review dumps; ``monitoring``: the run
  summary and drift profile.
"""

from __future__ import annotations

__version__ = "0.1.0"
