"""Scoring many small files: the ``score`` flow on N one-row CSV files, then its rerun.

Builds a home holding one small real bundle (an mlp fitted on a few sentences, promoted
to champion), writes ``--files`` one-row CSV files, and runs ``score_flow`` on their
directory twice in a fresh subprocess each: the first run scores every file, the rerun
finds every output up to date. Each child reports the flow call's wall time (imports and
bundle building excluded; the temporary Prefect server's start is included) and
whether anything it printed holds a traceback. The library alone (``score_files`` on the
same files, no Prefect) is timed too, for the share Prefect adds.

    nice -n 10 .venv/bin/python benchmarks/scoring_small_files.py --files 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TEXTS = ["a great film, great acting", "an awful film, awful plot", "fine cast", "boring"] * 3

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
mode, home, inputs, output = sys.argv[1:5]
if mode == "flow":
    from flows.score import score_flow
    started = time.perf_counter()
    summary = score_flow([inputs], output, home=home)
    seconds = time.perf_counter() - started
    counts = [summary["files_scored"], summary["files_skipped"], summary["files_failed"]]
else:
    from sentiment.modeling.bundle import load_bundle
    from sentiment.release.registry import resolve_bundle
    from sentiment.scoring.config import ScoringConfig
    from sentiment.scoring.readers import discover_inputs
    from sentiment.scoring.scorer import score_files
    bundle = load_bundle(resolve_bundle(Path(home))[1])
    started = time.perf_counter()
    discovery = discover_inputs([inputs], output_dir=Path(output))
    results = score_files(discovery.inputs, Path(output), bundle, ScoringConfig())
    seconds = time.perf_counter() - started
    counts = [sum(r.status == s for r in results) for s in ("scored", "skipped", "failed")]
print("RESULT " + json.dumps({{"seconds": seconds, "counts": counts}}))
"""


def build_home(home: Path) -> None:
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import new_version, save_bundle
    from sentiment.modeling.zoo import build_model
    from sentiment.release.registry import record_event

    vectorizer = fit_vectorizer(TEXTS, VectorizerConfig(num_words=30, max_length=8))
    version = new_version("mlp")
    model = build_model("mlp", vectorizer.config)
    save_bundle(home / "models" / version, model, vectorizer, {"model": {"name": "mlp"}})
    record_event(home, "promoted", version)


def write_files(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    for index in range(count):
        (directory / f"review-{index:05d}.csv").write_text(
            f"id,text\n{index},{TEXTS[index % len(TEXTS)].replace(',', '')}\n"
        )


def run_child(mode: str, home: Path, inputs: Path, output: Path) -> dict:
    child = subprocess.run(
        [
            *(sys.executable, "-c", CHILD.format(root=str(REPOSITORY_ROOT)), mode),
            *(str(home), str(inputs), str(output)),
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            # The shared VM can take over a minute to start the temporary server.
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        },
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"{mode} run failed ({child.returncode}):\n{child.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["traceback"] = "Traceback" in child.stdout + child.stderr
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    rows: dict[str, list[float]] = {}
    tracebacks = False
    with tempfile.TemporaryDirectory(prefix="score-small-") as temporary:
        root = Path(temporary)
        build_home(root / "home")
        write_files(root / "inputs", arguments.files)
        for repeat in range(arguments.repeats):
            for mode in ("flow", "library"):
                output = root / f"out-{mode}-{repeat}"
                first = run_child(mode, root / "home", root / "inputs", output)
                again = run_child(mode, root / "home", root / "inputs", output)
                assert first["counts"] == [arguments.files, 0, 0], first
                assert again["counts"] == [0, arguments.files, 0], again
                tracebacks |= first["traceback"] or again["traceback"]
                rows.setdefault(f"{mode} first run", []).append(first["seconds"])
                rows.setdefault(f"{mode} rerun (all up to date)", []).append(again["seconds"])
    print(f"| {arguments.files:,} one-row CSV files | median s | ms/file | runs |")
    print("|---|---:|---:|---|")
    for name, values in rows.items():
        median = statistics.median(values)
        runs = ", ".join(f"{value:.1f}" for value in values)
        print(f"| {name} | {median:.1f} | {1000 * median / arguments.files:.1f} | {runs} |")
    print(f"\nTraceback printed by any run: {'yes' if tracebacks else 'no'}")


if __name__ == "__main__":
    main()
