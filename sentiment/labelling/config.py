"""Settings of the labelling queue.

Imports nothing heavy, so the CLI can build its options from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described


@dataclass(frozen=True)
class QueueConfig:
    """How the labelling queue picks reviews.

    Attributes:
        size: Reviews in one queue.
        spread: Take picks from the input files in turn (each file's least sure review
            first, the round ordered by closeness to the threshold), so one large dump
            does not take the whole queue; off, the closest reviews win wherever they are.
        near_duplicate: Estimated word-shingle (3 words) Jaccard similarity at or above
            which a review counts as a near-duplicate of one already picked and is left
            out; 1 leaves out only equal normalized texts.
    """

    size: int = field(default=100, metadata=described("Reviews in the queue."))
    spread: bool = field(
        default=True,
        metadata=described("Take picks from the input files in turn, not the closest wherever."),
    )
    near_duplicate: float = field(
        default=0.8,
        metadata=described(
            "Shingle similarity in (0, 1] from which a review is a near-duplicate of a pick."
        ),
    )

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ConfigError(
                f"Setting 'size' must be a positive whole number, got {self.size!r}; pass "
                "--size 100 for example."
            )
        similarity = self.near_duplicate
        if (
            isinstance(similarity, bool)
            or not isinstance(similarity, int | float)
            or not 0 < similarity <= 1
        ):
            raise ConfigError(
                f"Setting 'near_duplicate' must be in (0, 1], got {similarity!r}; pass "
                "--near-duplicate 0.8 for example."
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serializable dict."""
        return {"size": self.size, "spread": self.spread, "near_duplicate": self.near_duplicate}
