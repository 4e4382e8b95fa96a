"""The outcome of scoring one input file, small enough for a task's return value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sentiment.modeling.profile import TextProfile
from sentiment.scoring.discovery import FAILED_FILE, InputFailure

__all__ = ["FAILED_FILE", "FileResult", "FileStatus"]

FileStatus = Literal["scored", "skipped", "failed"]


@dataclass(frozen=True)
class FileResult:
    """The outcome of scoring one input.

    Attributes:
        input_path: The input file (or pattern, for inputs rejected up front).
        output_path: The scored Parquet file, or None when failed.
        status: ``scored``, ``skipped`` (already up to date) or ``failed``.
        reason: Why it failed or was skipped.
        profile: Counts over the output's rows (for skipped files, from its metadata).
        seconds: For a scored input, the seconds its batches took (reading, encoding,
            scoring and writing them: what reviews/s counts, without opening the input
            or finishing its output); otherwise the wall time spent on it.
    """

    input_path: str
    output_path: str | None
    status: FileStatus
    reason: str | None = None
    profile: TextProfile | None = None
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.profile.rows if self.profile is not None else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form, small enough for a task's return value.

        The profile travels as one JSON string: an orchestrator walks every element of
        a task's parameters and results, and a profile's histograms hold hundreds of
        numbers (walking 2,000 files' histograms cost Prefect ~40 ms per file).
        """
        return {
            "input_path": self.input_path,
            "output_path": self.output_path,
            "status": self.status,
            "reason": self.reason,
            "seconds": self.seconds,
            "rows": self.rows,
            "profile": json.dumps(self.profile.to_dict()) if self.profile is not None else None,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> FileResult:
        """Rebuild a result written by :meth:`to_dict`."""
        profile = payload.get("profile")
        if isinstance(profile, str):
            profile = json.loads(profile)
        return cls(
            input_path=payload["input_path"],
            output_path=payload.get("output_path"),
            status=payload["status"],
            reason=payload.get("reason"),
            profile=TextProfile.from_dict(profile) if profile else None,
            seconds=float(payload.get("seconds", 0.0)),
        )

    @classmethod
    def failed(cls, failure: InputFailure) -> FileResult:
        """A failed result for an input rejected before scoring."""
        return cls(
            input_path=failure.path, output_path=None, status="failed", reason=failure.reason
        )
