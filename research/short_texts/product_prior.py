"""The product's short-text prior (sentiment.modeling.short_text_prior) attached to a trained
bundle, scored as the product scores: validation reviews, SST-2 dev, the checklist and IMDB
test, with and without the prior, and the scorer's time with and without it.

Usage: python -m research.short_texts.product_prior HOME BUNDLE_DIR [STRENGTH N M]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from research.short_texts.score_bundle import CHECKLIST, SST_DEV
from research.toward_93 import split_texts
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.short_text_prior import ShortTextPrior, build_prior
from sentiment.release.evaluation import word_counts
from sentiment.release.metrics import length_metrics


def main() -> None:
    home, directory = Path(sys.argv[1]), Path(sys.argv[2])
    strength, full, none = (
        (float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        if len(sys.argv) > 3
        else (0.3, 10, 30)
    )
    bundle = load_bundle(directory)
    scorer = bundle.text_scorer
    assert scorer is not None
    texts, labels = split_texts(home)
    sets = {
        "val": (texts["val"], labels["val"]),
        "sst_dev": (list(pd.read_parquet(SST_DEV).text), pd.read_parquet(SST_DEV).label.to_numpy()),
        "checklist": (list(pd.read_csv(CHECKLIST).text), pd.read_csv(CHECKLIST).label.to_numpy()),
        "test": (texts["test"], labels["test"]),
    }
    prior = ShortTextPrior(
        build_prior(bundle.vectorizer.vocabulary, strength, bundle.vectorizer.config.num_words),
        full,
        none,
    )
    rows = {}
    for name, prior_used in (("without", None), ("with", prior)):
        scorer.prior = prior_used
        row: dict[str, object] = {}
        for set_name, (values, truth) in sets.items():
            started = time.perf_counter()
            scores = bundle.predict_texts(values)
            seconds = time.perf_counter() - started
            right = (scores >= bundle.threshold) == (truth == 1)
            row[set_name] = round(100 * float(right.mean()), 2)
            row[f"{set_name}_seconds"] = round(seconds, 3)
            if set_name in ("test", "sst_dev"):
                buckets = length_metrics(truth, scores, word_counts(values), bundle.threshold)
                row[f"{set_name}_lengths"] = {
                    b["words"]: round(100 * b["accuracy"], 2) for b in buckets if b["rows"]
                }
            if set_name == "checklist":
                row["checklist_wrong"] = [t for t, ok in zip(values, right, strict=True) if not ok]
            rows.setdefault(set_name, []).append(scores)
        rows[name] = row
    changed = {
        name: int(
            np.sum((rows[name][0] >= bundle.threshold) != (rows[name][1] >= bundle.threshold))
        )
        for name in sets
    }
    print(
        json.dumps(
            {
                "strength": strength,
                "full": full,
                "none": none,
                "without": rows["without"],
                "with": rows["with"],
                "labels_changed": changed,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
