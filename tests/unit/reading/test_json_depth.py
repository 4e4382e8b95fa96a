"""Deeply nested JSON lines fail their own file in one sentence (issue 27 class 2).

pyarrow's JSON parser dies with a segmentation fault on very deep nesting, so the run
is made in a child process: on code without the guard the child dies, and the test
fails instead of the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sentiment.reading.chunks import MAX_JSON_DEPTH, too_deep_offset

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import json, sys
from pathlib import Path
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.inbox import record_failures
from tests.support.scoring import SMALL, FakeModel, score_files

scored = Path(sys.argv[1])
inputs = list(discover_inputs(sys.argv[2:]).inputs)
results = score_files(inputs, scored, FakeModel(), SMALL)
record_failures(scored, results)
print(json.dumps({Path(r.input_path).name: [r.status, r.reason] for r in results}))
"""


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_deep_nesting_fails_its_own_file_and_the_others_are_scored(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "A fine film."}\n{"text": "Dull."}\n')
    # A segmentation fault in pyarrow, and a RecursionError in Python's json module.
    deep, moderate = tmp_path / "deep.jsonl", tmp_path / "moderate.jsonl"
    deep.write_text('{"text": "ok"}\n' * 3 + '{"text": "x", "n": ' + nested(100_000) + "}\n")
    moderate.write_text('{"text": "x", "n": ' + nested(2_000) + "}\n")
    scored = tmp_path / "scored"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(scored), str(deep), str(good), str(moderate)],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    assert results["good.jsonl"][0] == "scored"
    assert results["deep.jsonl"] == [
        "failed",
        f"Input {deep} line 4 nests objects or lists more than {MAX_JSON_DEPTH} levels deep; "
        "flatten that record or remove it.",
    ]
    assert results["moderate.jsonl"][0] == "failed"
    assert f"{moderate} line 1 nests" in results["moderate.jsonl"][1]
    # Recorded, so the inbox does not try them again until they change.
    failures = json.loads((scored / ".inbox-failures.json").read_text())
    assert set(failures) == {str(deep), str(moderate)}


def test_the_depth_scan_ignores_brackets_in_strings_and_starts_each_line_at_zero() -> None:
    within = json.dumps({"text": "[" * 500, "n": json.loads(nested(MAX_JSON_DEPTH - 1))})
    assert too_deep_offset((within + "\n").encode() * 3) == -1
    escaped = '{"text": "\\\\\\"' + "{" * 100 + '"}\n'
    assert json.loads(escaped) and too_deep_offset(escaped.encode()) == -1
    too_deep = '{"n": ' + nested(MAX_JSON_DEPTH) + "}\n"
    assert too_deep_offset(too_deep.encode()) == 6 + MAX_JSON_DEPTH - 1
