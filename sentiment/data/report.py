"""The dataset report: what the ingested IMDB reviews look like before any modelling.

Writes ``reports/dataset.md``, a box plot ``reports/dataset_lengths.png`` and the figures
as ``reports/dataset.json`` (which also lets a rerun on unchanged data skip the work).
Words are counted with :func:`sentiment.encoding.tokens.token_lists` (the tokens of
:func:`sentiment.encoding.text.tokenize`), the vectorizer's own tokenizer,
so the lengths here are the lengths the model sees before truncation.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sentiment.core.arrays import list_lengths
from sentiment.core.atomic import atomic_path, write_json, write_text
from sentiment.core.errors import StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.data.imdb_members import ARCHIVE_SPLITS
from sentiment.data.ingest import MANIFEST_NAME
from sentiment.encoding.tokens import token_lists

logger = logging.getLogger(__name__)

LONG_REVIEW_WORDS = 500
# Bump when the figures or their definitions change, so cached reports are rebuilt.
REPORT_VERSION = 1
MARKDOWN_NAME = "dataset.md"
FIGURE_NAME = "dataset_lengths.png"
FIGURES_NAME = "dataset.json"
_CROSS_PAIRS = (("train", "test"), ("train", "unsup"), ("test", "unsup"))


@dataclass(frozen=True)
class SplitStatistics:
    """Figures of one split.

    ``duplicate_rows`` counts rows whose text repeats an earlier row of the same split;
    ``duplicated_texts`` counts distinct texts that occur more than once in it.
    """

    split: str
    reviews: int
    positive: int
    negative: int
    distinct_words: int
    mean_words: float
    std_words: float
    median_words: float
    max_words: int
    share_over_500_words: float
    duplicate_rows: int
    duplicated_texts: int


@dataclass(frozen=True)
class CrossSplitDuplicates:
    """Distinct texts found in both of two splits.

    ``label_conflicts`` counts shared texts labelled differently; ``None`` when either
    split is unlabelled.
    """

    first: str
    second: str
    texts: int
    label_conflicts: int | None


@dataclass(frozen=True)
class DatasetReport:
    """The report's figures and where it was written."""

    markdown_path: Path
    figure_path: Path
    figures_path: Path
    splits: tuple[SplitStatistics, ...]
    distinct_words: int
    cross_split: tuple[CrossSplitDuplicates, ...]
    markdown: str
    cache_hit: bool

    def split(self, name: str) -> SplitStatistics:
        """Return the figures of split ``name``."""
        for statistics in self.splits:
            if statistics.split == name:
                return statistics
        raise KeyError(name)

    def cross(self, first: str, second: str) -> CrossSplitDuplicates:
        """Return the duplicates shared by two splits (in either order)."""
        for pair in self.cross_split:
            if {pair.first, pair.second} == {first, second}:
                return pair
        raise KeyError((first, second))

    def to_manifest(self) -> dict[str, Any]:
        """A small JSON-serializable summary: where it was written and its headlines."""
        return {
            "markdown": str(self.markdown_path),
            "figure": str(self.figure_path),
            "figures": str(self.figures_path),
            "distinct_words": self.distinct_words,
            "train_test_duplicates": self.cross("train", "test").texts,
            "cache_hit": self.cache_hit,
        }


def _raw_manifest(layout: HomeLayout) -> dict[str, Any]:
    manifest_path = layout.raw_dir / MANIFEST_NAME
    missing = [
        str(layout.raw_split(split))
        for split in ARCHIVE_SPLITS
        if not layout.raw_split(split).is_file()
    ]
    if missing or not manifest_path.is_file():
        raise StageOutputMissingError(
            f"The raw reviews {', '.join(missing) or manifest_path} are missing; run "
            "'sentiment ingest' first."
        )
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def _fingerprint(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "archive_sha256": manifest.get("archive_sha256"),
        "files": manifest.get("files"),
    }


def _split_statistics(
    split: str, texts: Sequence[str], labels: Sequence[int | None], vocabulary: set[str]
) -> tuple[SplitStatistics, np.ndarray, Counter[str]]:
    lists = token_lists(texts)
    lengths = list_lengths(lists)
    split_vocabulary = set(pc.unique(lists.flatten()).to_pylist())
    vocabulary |= split_vocabulary
    occurrences = Counter(texts)
    repeated = [count for count in occurrences.values() if count > 1]
    reviews = len(texts)
    statistics = SplitStatistics(
        split=split,
        reviews=reviews,
        positive=sum(1 for label in labels if label == 1),
        negative=sum(1 for label in labels if label == 0),
        distinct_words=len(split_vocabulary),
        mean_words=float(lengths.mean()) if reviews else 0.0,
        std_words=float(lengths.std()) if reviews else 0.0,
        median_words=float(np.median(lengths)) if reviews else 0.0,
        max_words=int(lengths.max()) if reviews else 0,
        share_over_500_words=float((lengths > LONG_REVIEW_WORDS).mean()) if reviews else 0.0,
        duplicate_rows=sum(count - 1 for count in repeated),
        duplicated_texts=len(repeated),
    )
    return statistics, lengths, occurrences


def _label_conflicts(
    shared: set[str],
    first: tuple[Sequence[str], Sequence[int | None]],
    second: tuple[Sequence[str], Sequence[int | None]],
) -> int:
    """Count shared texts whose labels differ between the two splits."""

    def labels_of(texts: Sequence[str], labels: Sequence[int | None]) -> dict[str, set[int | None]]:
        found: dict[str, set[int | None]] = {}
        for text, label in zip(texts, labels, strict=True):
            if text in shared:
                found.setdefault(text, set()).add(label)
        return found

    first_labels, second_labels = labels_of(*first), labels_of(*second)
    return sum(1 for text in shared if first_labels[text] != second_labels[text])


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def render_markdown(
    splits: Sequence[SplitStatistics],
    distinct_words: int,
    cross_split: Sequence[CrossSplitDuplicates],
    archive_sha256: str,
) -> str:
    """Return the report as Markdown (also the Prefect artifact's body)."""
    lines = [
        "# IMDB dataset report",
        "",
        f"Archive sha256 `{archive_sha256}`. Words are the tokens of "
        "`sentiment.encoding.text.tokenize` (lowercased words without HTML tags, plus `!` "
        "and `?`), as the vectorizer sees them.",
        "",
        "## Reviews per split and class balance",
        "",
        "| split | reviews | positive | negative | positive share |",
        "|---|---:|---:|---:|---:|",
    ]
    for statistics in splits:
        labelled = statistics.positive + statistics.negative
        share = _percent(statistics.positive / labelled) if labelled else "unlabelled"
        lines.append(
            f"| {statistics.split} | {statistics.reviews:,} | {statistics.positive:,} | "
            f"{statistics.negative:,} | {share} |"
        )
    lines += [
        "",
        "## Words and review lengths",
        "",
        f"Distinct words over all splits: **{distinct_words:,}**.",
        "",
        "| split | distinct words | mean ± std words | median | max | "
        f"longer than {LONG_REVIEW_WORDS} words |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for statistics in splits:
        lines.append(
            f"| {statistics.split} | {statistics.distinct_words:,} | "
            f"{statistics.mean_words:.1f} ± {statistics.std_words:.1f} | "
            f"{statistics.median_words:.0f} | {statistics.max_words:,} | "
            f"{_percent(statistics.share_over_500_words)} |"
        )
    lines += [
        "",
        f"![Review lengths by split]({FIGURE_NAME})",
        "",
        "## Exact-duplicate texts",
        "",
        "Within a split: extra copies of a text already seen in that split.",
        "",
        "| split | texts occurring more than once | extra copies |",
        "|---|---:|---:|",
    ]
    for statistics in splits:
        lines.append(
            f"| {statistics.split} | {statistics.duplicated_texts:,} | "
            f"{statistics.duplicate_rows:,} |"
        )
    lines += [
        "",
        "Across splits: distinct texts present in both.",
        "",
        "| splits | shared texts | with different labels |",
        "|---|---:|---:|",
    ]
    for pair in cross_split:
        conflicts = "n/a" if pair.label_conflicts is None else f"{pair.label_conflicts:,}"
        lines.append(f"| {pair.first} & {pair.second} | {pair.texts:,} | {conflicts} |")
    lines += [
        "",
        "Texts shared by train and test let a model score a few test reviews from memory; "
        "the share is small, so the test split is kept as published.",
        "",
    ]
    return "\n".join(lines)


def _write_box_plot(lengths: Mapping[str, np.ndarray], destination: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        names = list(lengths)
        axes.boxplot(
            [lengths[name] for name in names],
            tick_labels=names,
            flierprops={"markersize": 2, "alpha": 0.3},
        )
        axes.axhline(LONG_REVIEW_WORDS, color="tab:red", linestyle="--", linewidth=1)
        axes.text(
            0.52, LONG_REVIEW_WORDS, f" {LONG_REVIEW_WORDS} words", color="tab:red", va="bottom"
        )
        axes.set_yscale("log")
        axes.set_ylabel("review length in words (log scale)")
        axes.set_title("IMDB review lengths by split")
        figure.tight_layout()
        with atomic_path(destination) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)


def _from_figures(layout: HomeLayout, figures: Mapping[str, Any], markdown: str) -> DatasetReport:
    return DatasetReport(
        markdown_path=layout.reports_dir / MARKDOWN_NAME,
        figure_path=layout.reports_dir / FIGURE_NAME,
        figures_path=layout.reports_dir / FIGURES_NAME,
        splits=tuple(SplitStatistics(**item) for item in figures["splits"]),
        distinct_words=int(figures["distinct_words"]),
        cross_split=tuple(CrossSplitDuplicates(**item) for item in figures["cross_split"]),
        markdown=markdown,
        cache_hit=True,
    )


def _cached_report(layout: HomeLayout, fingerprint: Mapping[str, Any]) -> DatasetReport | None:
    figures_path = layout.reports_dir / FIGURES_NAME
    markdown_path = layout.reports_dir / MARKDOWN_NAME
    figure_path = layout.reports_dir / FIGURE_NAME
    if not (figures_path.is_file() and markdown_path.is_file() and figure_path.is_file()):
        return None
    try:
        figures = json.loads(figures_path.read_text(encoding="utf-8"))
        if figures.get("fingerprint") != fingerprint:
            return None
        return _from_figures(layout, figures, markdown_path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError):
        return None


def build_dataset_report(
    home: Path, force: bool = False, progress_seconds: float = PROGRESS_SECONDS
) -> DatasetReport:
    """Compute the dataset figures and write the Markdown report and box plot.

    A rerun on the same raw Parquet files returns the earlier report without recomputing.
    Computing it takes half a minute: each step is logged as it starts, and how many
    reviews are done at most every ``progress_seconds``.

    Args:
        home: The pipeline home with ``raw/imdb`` ingested.
        force: Recompute even when the earlier report matches the raw files.
        progress_seconds: The least time between two progress lines.

    Returns:
        The figures and the paths written.

    Raises:
        StageOutputMissingError: The raw Parquet files are missing.
    """
    layout = HomeLayout(Path(home))
    manifest = _raw_manifest(layout)
    fingerprint = _fingerprint(manifest)
    if not force:
        cached = _cached_report(layout, fingerprint)
        if cached is not None:
            logger.info("The dataset report is up to date.")
            return cached

    vocabulary: set[str] = set()
    statistics: list[SplitStatistics] = []
    lengths: dict[str, np.ndarray] = {}
    columns: dict[str, tuple[list[str], list[int | None]]] = {}
    occurrences: dict[str, Counter[str]] = {}
    reviews = sum(pq.read_metadata(layout.raw_split(split)).num_rows for split in ARCHIVE_SPLITS)
    progress = Progress(logger, "Dataset report", reviews, "reviews", progress_seconds)
    for split in ARCHIVE_SPLITS:
        progress.step(f"words, lengths and duplicates of the {split} split")
        table = pq.read_table(layout.raw_split(split), columns=["text", "label"])
        texts: list[str] = table.column("text").to_pylist()
        labels: list[int | None] = table.column("label").to_pylist()
        split_statistics, split_lengths, split_occurrences = _split_statistics(
            split, texts, labels, vocabulary
        )
        statistics.append(split_statistics)
        lengths[split] = split_lengths
        columns[split] = (texts, labels)
        occurrences[split] = split_occurrences
        progress.advance(len(texts))

    progress.step("duplicates across splits, the box plot of lengths")
    cross_split = []
    for first, second in _CROSS_PAIRS:
        shared = occurrences[first].keys() & occurrences[second].keys()
        cross_split.append(
            CrossSplitDuplicates(
                first=first,
                second=second,
                texts=len(shared),
                label_conflicts=None
                if "unsup" in (first, second)
                else _label_conflicts(set(shared), columns[first], columns[second]),
            )
        )

    markdown = render_markdown(
        statistics, len(vocabulary), cross_split, str(manifest.get("archive_sha256"))
    )
    _write_box_plot(lengths, layout.reports_dir / FIGURE_NAME)
    write_text(layout.reports_dir / MARKDOWN_NAME, markdown)
    # Written last: its fingerprint vouches for the Markdown and the figure beside it.
    write_json(
        layout.reports_dir / FIGURES_NAME,
        {
            "fingerprint": fingerprint,
            "splits": [asdict(item) for item in statistics],
            "distinct_words": len(vocabulary),
            "cross_split": [asdict(item) for item in cross_split],
        },
    )
    progress.finish()
    logger.info(
        "Dataset report: %s distinct words, %d texts in both train and test.",
        f"{len(vocabulary):,}",
        cross_split[0].texts,
    )
    return DatasetReport(
        markdown_path=layout.reports_dir / MARKDOWN_NAME,
        figure_path=layout.reports_dir / FIGURE_NAME,
        figures_path=layout.reports_dir / FIGURES_NAME,
        splits=tuple(statistics),
        distinct_words=len(vocabulary),
        cross_split=tuple(cross_split),
        markdown=markdown,
        cache_hit=False,
    )
