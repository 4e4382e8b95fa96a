"""Parameter types shared by the flows, so the Prefect UI offers the zoo's names."""

from __future__ import annotations

from typing import Literal, get_args

from sentiment.modeling.config import MODEL_NAMES

ModelName = Literal["mlp", "cnn", "nbsvm"]
assert get_args(ModelName) == MODEL_NAMES, "ModelName must list the zoo's MODEL_NAMES"
