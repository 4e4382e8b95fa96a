"""Score a product bundle (compiled linear path, no TensorFlow) on SST-2 dev and the checklist.

Usage: python -m research.short_texts.score_bundle BUNDLE_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from sentiment.modeling.bundle import load_bundle
from sentiment.release.evaluation import word_counts
from sentiment.release.metrics import length_metrics

ROOT = Path(__file__).resolve().parents[2]

SST_DEV = Path("/work/shared/data/short-texts/sst2_dev.parquet")
CHECKLIST = ROOT / "tests" / "data" / "short_checklist.csv"


def main() -> None:
    bundle = load_bundle(Path(sys.argv[1]))
    row: dict[str, object] = {
        "bundle": bundle.version,
        "tensorflow_loaded": "tensorflow" in sys.modules,
    }
    for name, frame in (
        ("sst_dev", pd.read_parquet(SST_DEV)),
        ("checklist", pd.read_csv(CHECKLIST)),
    ):
        scores = bundle.predict_texts(list(frame.text))
        correct = (scores >= bundle.threshold) == (frame.label.to_numpy() == 1)
        row[name] = round(float(correct.mean()), 4)
        if name == "sst_dev":
            words = word_counts(list(frame.text))
            buckets = length_metrics(frame.label.to_numpy(), scores, words, bundle.threshold)
            row["sst_dev_lengths"] = [b for b in buckets if b["rows"]]
        if name == "checklist":
            row["checklist_wrong"] = [
                f"{text} ({score:.2f})"
                for text, score, ok in zip(frame.text, scores, correct, strict=True)
                if not ok
            ]
    probes = ["good movie", "not bad", "a good film", "excellent", "the acting was wonderful"]
    row["probes"] = {
        text: round(float(s), 3)
        for text, s in zip(probes, bundle.predict_texts(probes), strict=True)
    }
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
