"""Which reviews go into the labelling queue: the ones the model is least sure of.

Pure and in memory (the home's files are :mod:`sentiment.labelling.queue`'s job), so
the simulation in ``benchmarks/labelling_queue.py`` picks exactly as the product does.

A review's uncertainty is its score's distance to the decision threshold (both
calibrated: the scored outputs carry the calibrated score and the threshold they were
labelled with). Picks are taken from the input files in turn, each file's closest
review first, so one large dump does not fill the queue; a review whose normalized text
is excluded (already labelled or queued) or equal or near to a pick's is passed over.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sentiment.data.labelled_rows import normalize_text, normalized_hash
from sentiment.labelling.config import QueueConfig

# MinHash over 3-word shingles: 32 hash functions in 8 bands of 4. Two texts that share
# a band are compared on all 32 (their estimated Jaccard similarity); texts of
# similarity 0.8 share a band with probability 1 - (1 - 0.8**4)**8 > 0.99.
SHINGLE_WORDS = 3
_PERMUTATIONS = 32
_BANDS = 8
_PRIME = 4_294_967_291  # the largest prime below 2**32: products stay below 2**64
_RANDOM = np.random.default_rng(20261207)
_MULTIPLIERS = _RANDOM.integers(1, _PRIME, _PERMUTATIONS, dtype=np.uint64)
_OFFSETS = _RANDOM.integers(0, _PRIME, _PERMUTATIONS, dtype=np.uint64)


@dataclass(frozen=True)
class Candidates:
    """One input file's scored reviews.

    Attributes:
        source_file: The file they came from.
        scores: Calibrated scores (NaN where the row was not scored).
        threshold: The decision threshold the scores were labelled with.
        text: The ``i``-th review's text (read lazily: only rows considered are read).
    """

    source_file: str
    scores: np.ndarray
    threshold: float
    text: Callable[[int], str | None]


@dataclass(frozen=True)
class Pick:
    """One review chosen for labelling.

    Attributes:
        file: Index of its :class:`Candidates` in the input.
        row: Its row in that file.
        score: Its score.
        distance: ``|score - threshold|``.
        text_hash: Its normalized text's hash (the labelled data's duplicate key).
        rank: Its position in its file by closeness to the threshold (0 = closest).
    """

    file: int
    row: int
    score: float
    distance: float
    text_hash: str
    rank: int


def shingle_signature(normalized: str) -> np.ndarray:
    """The MinHash signature (32 values) of a normalized text's 3-word shingles."""
    words = normalized.split()
    count = max(len(words) - SHINGLE_WORDS + 1, 1)
    shingles = {" ".join(words[index : index + SHINGLE_WORDS]) for index in range(count)}
    keys = np.fromiter(
        (zlib.crc32(shingle.encode("utf-8")) for shingle in shingles), np.uint64, len(shingles)
    )
    mixed = (_MULTIPLIERS[:, None] * keys[None, :] + _OFFSETS[:, None]) % np.uint64(_PRIME)
    return mixed.min(axis=1)


class NearDuplicates:
    """The picks so far, to tell whether a new text is equal or near to one of them."""

    def __init__(self, similarity: float, excluded: set[str] | frozenset[str] = frozenset()):
        self.similarity = similarity
        self.hashes: set[str] = set(excluded)
        self._signatures: list[np.ndarray] = []
        self._bands: dict[tuple[int, bytes], list[int]] = {}

    def _band_keys(self, signature: np.ndarray) -> list[tuple[int, bytes]]:
        rows = _PERMUTATIONS // _BANDS
        return [
            (band, signature[band * rows : (band + 1) * rows].tobytes()) for band in range(_BANDS)
        ]

    def check(self, normalized: str) -> tuple[str, np.ndarray | None] | None:
        """``(hash, signature)`` of a text that is new, or None for an equal or near one."""
        hash_hex = normalized_hash(normalized)
        if hash_hex in self.hashes:
            return None
        if self.similarity >= 1:
            return hash_hex, None
        signature = shingle_signature(normalized)
        seen: set[int] = set()
        for key in self._band_keys(signature):
            for other in self._bands.get(key, ()):
                if other in seen:
                    continue
                seen.add(other)
                if np.mean(self._signatures[other] == signature) >= self.similarity:
                    return None
        return hash_hex, signature

    def add(self, hash_hex: str, signature: np.ndarray | None) -> None:
        """Record a pick."""
        self.hashes.add(hash_hex)
        if signature is None:
            return
        self._signatures.append(signature)
        for key in self._band_keys(signature):
            self._bands.setdefault(key, []).append(len(self._signatures) - 1)


def select_uncertain(
    files: Sequence[Candidates],
    config: QueueConfig,
    excluded: set[str] | frozenset[str] = frozenset(),
) -> list[Pick]:
    """The reviews to label next, least sure first within each round.

    Args:
        files: The scored reviews, one entry per input file.
        config: Size, spreading and the near-duplicate similarity.
        excluded: Normalized-text hashes to pass over (already labelled or queued).

    Returns:
        At most ``config.size`` picks: with ``spread``, round by round the closest
        remaining review of each file that has any left (each round ordered by
        distance); without, by distance alone.
    """
    orders: list[np.ndarray] = []
    distances: list[np.ndarray] = []
    for candidates in files:
        distance = np.abs(np.asarray(candidates.scores, np.float64) - candidates.threshold)
        valid = np.flatnonzero(np.isfinite(distance))
        # Stable: equal distances keep file order, so a rerun picks the same reviews.
        orders.append(valid[np.argsort(distance[valid], kind="stable")])
        distances.append(distance)
    seen = NearDuplicates(config.near_duplicate, excluded)
    positions = [0] * len(files)
    picks: list[Pick] = []

    def take(index: int) -> bool:
        """Consider file ``index``'s next review; pick it unless passed over."""
        rank = positions[index]
        row = int(orders[index][rank])
        positions[index] += 1
        text = files[index].text(row)
        normalized = normalize_text(text) if isinstance(text, str) else ""
        checked = seen.check(normalized) if normalized else None
        if checked is None:
            return False
        seen.add(*checked)
        score = float(files[index].scores[row])
        picks.append(Pick(index, row, score, float(distances[index][row]), checked[0], rank))
        return True

    def left(index: int) -> bool:
        return positions[index] < len(orders[index])

    while len(picks) < config.size and any(left(index) for index in range(len(files))):
        if not config.spread:
            nearest = min(
                (index for index in range(len(files)) if left(index)),
                key=lambda index: distances[index][orders[index][positions[index]]],
            )
            take(nearest)
            continue
        # One round: each file in turn by its next review's distance, until it picks one.
        pending = [index for index in range(len(files)) if left(index)]
        pending.sort(key=lambda index: distances[index][orders[index][positions[index]]])
        for index in pending:
            while len(picks) < config.size and left(index) and not take(index):
                pass
    return picks
