"""Scoring many small files: N one-row CSV files scored, then their all-skipped rerun.

Builds a home holding one bundle as champion (by default a small real mlp fitted on a
few sentences; ``--bundle-from HOME`` copies that home's champion instead, e.g. a real
nbsvm), writes ``--files`` one-row CSV files, and scores their directory twice (the
first run scores every file, the rerun finds every output up to date), each run in a
fresh process, in these modes:

* ``cli``: ``sentiment score DIR --output OUT`` as a user runs it, with no Prefect
  server running (the command starts a temporary one); the whole process's wall time;
* ``cli-server``: the same command against a running local server (started as
  ``make server`` starts it, found through ``HOME/prefect/server.env``);
* ``flow``: ``score_flow`` called in a child (imports and bundle building excluded; the
  temporary server's start included);
* ``library``: ``score_file`` on each file, no Prefect.

With ``--compare CHECKOUT`` every mode also runs with the code of that checkout (e.g.
``git archive HEAD~1``), alternating old and new within each round, for before/after
figures from one run. Each run reports whether anything it printed holds a traceback.

    nice -n 10 .venv/bin/python -m benchmarks.scoring_small_files --files 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.bundles import promoted_home

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TEXTS = ["a great film, great acting", "an awful film, awful plot", "fine cast", "boring"] * 3
MODES = ("cli", "cli-server", "flow", "library")

CHILD = """
import json, sys, time
from pathlib import Path
mode, home, inputs, output = sys.argv[1:5]
if mode == "flow":
    from flows.score import score_flow
    started = time.perf_counter()
    summary = score_flow([inputs], output, home=home)
    seconds = time.perf_counter() - started
    counts = [summary["files_scored"], summary["files_skipped"], summary["files_failed"]]
else:
    from sentiment.modeling.bundle import load_bundle
    from sentiment.release.champion import resolve_bundle
    from sentiment.scoring.config import ScoringConfig
    from sentiment.scoring.outputs import prepare_output_directory
    from sentiment.scoring.discovery import discover_inputs
    from sentiment.scoring.scorer import score_file
    bundle = load_bundle(resolve_bundle(Path(home))[1])
    started = time.perf_counter()
    prepare_output_directory(Path(output))
    discovery = discover_inputs([inputs], output_dir=Path(output))
    config = ScoringConfig()
    results = [score_file(item, Path(output), bundle, config) for item in discovery.inputs]
    seconds = time.perf_counter() - started
    counts = [sum(r.status == s for r in results) for s in ("scored", "skipped", "failed")]
print("RESULT " + json.dumps({{"seconds": seconds, "counts": counts}}))
"""

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # The shared VM can take over a minute to start the temporary server.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def build_home(home: Path, bundle_from: Path | None = None) -> None:
    """A home whose champion is a tiny mlp, or ``bundle_from``'s champion copied."""
    if bundle_from is None:
        promoted_home(home, TEXTS)
        return
    from sentiment.release.champion import resolve_bundle
    from tests.support.registry import promote_bundle

    version, directory = resolve_bundle(bundle_from)
    shutil.copytree(directory, home / "models" / version)
    promote_bundle(home, version, TEXTS)


def write_files(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    for index in range(count):
        (directory / f"review-{index:05d}.csv").write_text(
            f"id,text\n{index},{TEXTS[index % len(TEXTS)].replace(',', '')}\n"
        )


def _environment(code: Path, api_url: str | None = None) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")
    }
    environment.update(QUIET, PYTHONPATH=str(code))
    if api_url:
        environment["PREFECT_API_URL"] = api_url
    return environment


def run_child(mode: str, code: Path, home: Path, inputs: Path, output: Path) -> dict:
    if mode.startswith("cli"):
        # What a user runs; with cli-server the command finds the server in its home.
        command = [sys.executable, "-m", "cli.main", "--home", str(home), "score"]
        started = time.perf_counter()
        child = subprocess.run(
            [*command, str(inputs), "--output", str(output)],
            capture_output=True,
            text=True,
            cwd=code,
            env=_environment(code),
        )
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"{mode} run failed ({child.returncode}):\n{child.stderr[-3000:]}")
        line = child.stdout.strip().splitlines()[-1]
        scored = int(line.split("Scored ")[1].split(" ")[0])
        skipped = int(line.split("skipped ")[1].split(" ")[0])
        result = {"seconds": seconds, "counts": [scored, skipped, 0]}
        result["traceback"] = "Traceback" in child.stdout + child.stderr
        return result
    child = subprocess.run(
        [
            *(sys.executable, "-c", CHILD.format(root=str(code)), mode),
            *(str(home), str(inputs), str(output)),
        ],
        capture_output=True,
        text=True,
        cwd=code,
        env=_environment(code),
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"{mode} run failed ({child.returncode}):\n{child.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["traceback"] = "Traceback" in child.stdout + child.stderr
    return result


class LocalServer:
    """A Prefect server for ``home``, started as ``make server`` starts it (its own
    database under ``home/prefect``) and recorded in ``home/prefect/server.env``."""

    def __init__(self, home: Path) -> None:
        from scripts.prefect_local import free_port, start_server, wait_for_health
        from sentiment.core.paths import HomeLayout

        layout = HomeLayout(home)
        self.prefect_home = layout.prefect_dir
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.process = start_server(self.prefect_home, port, self.prefect_home / "server.log")
        wait_for_health(self.api_url, self.process, timeout=300)
        layout.server_file.write_text(
            f"PREFECT_API_URL={self.api_url}\nSERVER_PGID={self.process.pid}\nIDLE_SECONDS=0\n"
        )

    def stop(self) -> None:
        from scripts.prefect_local import stop_group

        stop_group(self.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--bundle-from", type=Path, default=None, help="Copy HOME's champion.")
    parser.add_argument("--compare", type=Path, default=None, help="An older checkout.")
    arguments = parser.parse_args()
    codes = {"new": REPOSITORY_ROOT}
    if arguments.compare is not None:
        codes = {"old": arguments.compare.resolve(), **codes}
    rows: dict[str, list[float]] = {}
    tracebacks: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="score-small-") as temporary:
        root = Path(temporary)
        build_home(root / "home", arguments.bundle_from)
        write_files(root / "inputs", arguments.files)
        server = None
        if "cli-server" in arguments.modes:
            shutil.copytree(root / "home", root / "home-server")
            server = LocalServer(root / "home-server")
        try:
            for repeat in range(arguments.repeats):
                for mode in arguments.modes:
                    home = root / ("home-server" if mode == "cli-server" else "home")
                    for name, code in codes.items():
                        output = root / f"out-{mode}-{name}-{repeat}"
                        first = run_child(mode, code, home, root / "inputs", output)
                        again = run_child(mode, code, home, root / "inputs", output)
                        assert first["counts"] == [arguments.files, 0, 0], first
                        assert again["counts"] == [0, arguments.files, 0], again
                        label = f"{mode}" + (f" ({name})" if len(codes) > 1 else "")
                        for run, result in (("first run", first), ("rerun", again)):
                            rows.setdefault(f"{label}, {run}", []).append(result["seconds"])
                            key = f"{label}, {run}"
                            tracebacks[key] = tracebacks.get(key, False) or result["traceback"]
                        print(
                            f"round {repeat + 1} {label}: {first['seconds']:.1f} s, "
                            f"rerun {again['seconds']:.1f} s",
                            file=sys.stderr,
                        )
        finally:
            if server is not None:
                server.stop()
    print(f"| {arguments.files:,} one-row CSV files | median s | ms/file | runs | traceback |")
    print("|---|---:|---:|---|---|")
    for name, values in rows.items():
        median = statistics.median(values)
        runs = ", ".join(f"{value:.1f}" for value in values)
        flag = "yes" if tracebacks[name] else "no"
        per_file = 1000 * median / arguments.files
        print(f"| {name} | {median:.1f} | {per_file:.1f} | {runs} | {flag} |")


if __name__ == "__main__":
    main()
