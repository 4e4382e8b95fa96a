"""What a command costs around its work: the plain library script against ``sentiment``.

In one run, alternating within each round, medians of ``--repeats`` rounds, each case a
fresh process timed from outside (its whole wall time):

* ``plain``: a script that imports the library, loads the champion and scores the rows;
* ``server``: ``sentiment score`` with the home's server running (started as
  ``make server`` starts it, recorded in ``HOME/prefect/server.env``), and, for code
  that has one, its warm runner (``cli/home_runner.py``), started by a warm-up command
  before the first round and ready; ``server, in-process``: the same code with the
  runner switched off (``SENTIMENT_RUNNER=0``), the command importing Prefect itself;
* ``no server, cold``: no server running or configured (the command starts what it
  needs: the old code a temporary server, the new one the home's server, stopped
  again after the case so the next round starts cold too);
* ``no server, warm``: the new code's next command, reusing the home's server the
  previous one started (the old code has no such thing: same as cold);

each on 1 and 1,000 rows and on ``--files`` one-row files; the missing-file error;
``sentiment run`` with nothing new (``--run-home``: a home whose champion was trained on
its current data, e.g. after one ``sentiment run``; copied, not changed).
With ``--baseline TREE`` (a checkout of the old code) every CLI case also runs with that
code, alternating, for before and after from one run.

    nice -n 5 .venv/bin/python -m benchmarks.orchestration --repeats 3 \\
        --bundle HOME/models/VERSION --run-home HOME --baseline ../light-base
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scoring_small_files import LocalServer, write_files
from tests.support.bundles import promoted_home

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a great film, great acting", "an awful film, awful plot", "fine cast", "boring"] * 3

PLAIN = """
import sys
from pathlib import Path
from sentiment.modeling.bundle import load_bundle
from sentiment.release.champion import resolve_bundle
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.outputs import prepare_output_directory
from sentiment.scoring.scorer import score_file
home, inputs, output = sys.argv[1:4]
bundle = load_bundle(resolve_bundle(Path(home))[1])
prepare_output_directory(Path(output))
config = ScoringConfig()
for item in discover_inputs([inputs], output_dir=Path(output)).inputs:
    assert score_file(item, Path(output), bundle, config).status == "scored"
"""


def _environment(code: Path, **extra: str) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")
    }
    environment.update(
        PYTHONPATH=str(code),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
        **extra,
    )
    return environment


def _timed(command: list[str], code: Path, expect: int = 0, **extra: str) -> float:
    started = time.perf_counter()
    child = subprocess.run(
        command, cwd=code, env=_environment(code, **extra), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if child.returncode != expect:
        raise SystemExit(
            f"{' '.join(command)} exited {child.returncode}, not {expect}:\n"
            f"{child.stdout[-2000:]}\n{child.stderr[-3000:]}"
        )
    return seconds


def _sentiment(home: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "--home", str(home), *arguments]


def _stop_home_server(code: Path, home: Path) -> None:
    # The new code's own command; the old code has none (nothing of it outlives a command).
    if (code / "cli" / "server_command.py").exists():
        subprocess.run(
            _sentiment(home, "server", "stop"),
            cwd=code,
            env=_environment(code),
            capture_output=True,
            check=False,
        )


def _has_runner(code: Path) -> bool:
    return (code / "cli" / "home_runner.py").exists()


def warm_up(code: Path, home: Path, source: Path, output: str) -> None:
    """One command on ``home``: for code with a runner, it starts the runner as it ends;
    wait until that runner is ready, so no round pays for its start."""
    _timed(_sentiment(home, "score", str(source), "--output", output), code)
    if not _has_runner(code):
        return
    state = home / "prefect" / "runner.env"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if state.exists() and "READY=1" in state.read_text():
            return
        time.sleep(0.5)
    raise SystemExit(f"The runner of {home} did not become ready within 300 s.")


def build_home(home: Path, bundle: Path | None) -> Path:
    """A home whose champion is ``bundle`` (copied), else a tiny mlp."""
    if bundle is None:
        return promoted_home(home, TEXTS)
    from tests.support.registry import promote_bundle

    shutil.copytree(bundle, home / "models" / bundle.name)
    promote_bundle(home, bundle.name, TEXTS)
    return home


def write_rows(path: Path, rows: int) -> Path:
    lines = [
        f"{index},{TEXTS[index % len(TEXTS)].replace(',', '')} {index}" for index in range(rows)
    ]
    path.write_text("id,text\n" + "\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument(
        "--inputs",
        nargs="+",
        choices=("1000", "1", "files"),
        default=["1000", "1", "files"],
        help="Which inputs to score (1,000 rows, 1 row, --files one-row files).",
    )
    parser.add_argument(
        "--bundle", type=Path, default=None, help="A bundle directory to score with."
    )
    parser.add_argument("--run-home", type=Path, default=None, help="A trained home for 'run'.")
    parser.add_argument("--baseline", type=Path, default=None, help="A checkout of the old code.")
    arguments = parser.parse_args()
    codes = {"new": REPOSITORY_ROOT}
    if arguments.baseline is not None:
        codes = {"old": arguments.baseline.resolve(), **codes}
    figures: dict[str, list[float]] = {}

    with tempfile.TemporaryDirectory(prefix="orchestration-") as temporary:
        root = Path(temporary)
        inputs = {
            "1,000 rows": write_rows(root / "rows-1000.csv", 1000),
            "1 row": write_rows(root / "rows-1.csv", 1),
        }
        write_files(root / "files", arguments.files)
        inputs[f"{arguments.files:,} one-row files"] = root / "files"
        chosen = {"1000": "1,000 rows", "1": "1 row", "files": f"{arguments.files:,} one-row files"}
        inputs = {chosen[key]: inputs[chosen[key]] for key in arguments.inputs}
        homes = {}
        for name in codes:
            homes[name, "server"] = build_home(root / f"home-{name}-server", arguments.bundle)
            homes[name, "cold"] = build_home(root / f"home-{name}-cold", arguments.bundle)
        servers = {name: LocalServer(homes[name, "server"]) for name in codes}
        run_homes = {}
        if arguments.run_home is not None:
            for name in codes:
                run_homes[name] = root / f"run-home-{name}"
                shutil.copytree(
                    arguments.run_home, run_homes[name], ignore=shutil.ignore_patterns("prefect")
                )
        counter = iter(range(10**6))

        def output() -> str:
            return str(root / f"out-{next(counter)}")

        for name, code in codes.items():
            warm_up(code, homes[name, "server"], next(iter(inputs.values())), output())

        def record(label: str, seconds: float) -> None:
            figures.setdefault(label, []).append(seconds)
            print(f"  {label}: {seconds:.1f} s", file=sys.stderr, flush=True)

        try:
            for repeat in range(arguments.repeats):
                load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
                print(f"round {repeat + 1} (load {load})", file=sys.stderr, flush=True)
                for what, source in inputs.items():
                    plain_home = homes["new", "server"]
                    record(
                        f"plain library script, {what}",
                        _timed(
                            [sys.executable, "-c", PLAIN, str(plain_home), str(source), output()],
                            REPOSITORY_ROOT,
                        ),
                    )
                    for name, code in codes.items():
                        tag = f" ({name})" if len(codes) > 1 else ""
                        score = ("score", str(source), "--output")
                        record(
                            f"sentiment score, server running, {what}{tag}",
                            _timed(_sentiment(homes[name, "server"], *score, output()), code),
                        )
                        if _has_runner(code):
                            record(
                                f"sentiment score, server running, in-process, {what}{tag}",
                                _timed(
                                    _sentiment(homes[name, "server"], *score, output()),
                                    code,
                                    SENTIMENT_RUNNER="0",
                                ),
                            )
                        new = (code / "cli" / "home_server.py").exists()
                        # The first input of a round starts cold: no server runs.
                        if not new or what == next(iter(inputs)):
                            label = "cold" if new else "a temporary server each"
                            record(
                                f"sentiment score, no server, {label}, {what}{tag}",
                                _timed(_sentiment(homes[name, "cold"], *score, output()), code),
                            )
                        if new:
                            record(
                                f"sentiment score, no server, warm (the home's), {what}{tag}",
                                _timed(_sentiment(homes[name, "cold"], *score, output()), code),
                            )
                for name, code in codes.items():
                    tag = f" ({name})" if len(codes) > 1 else ""
                    _stop_home_server(code, homes[name, "cold"])
                    record(
                        f"sentiment score missing.csv --output o, no server{tag}",
                        _timed(
                            _sentiment(
                                homes[name, "cold"],
                                "score",
                                str(root / "missing.csv"),
                                "--output",
                                output(),
                            ),
                            code,
                            expect=1,
                        ),
                    )
                    _stop_home_server(code, homes[name, "cold"])
                    if name in run_homes:
                        # No server configured: the new code's first round starts the home's.
                        record(
                            f"sentiment run, nothing new, no server configured{tag}",
                            _timed(_sentiment(run_homes[name], "run"), code),
                        )
        finally:
            for server in servers.values():
                server.stop()
            for name, code in codes.items():
                _stop_home_server(code, homes[name, "cold"])
                if name in run_homes:
                    _stop_home_server(code, run_homes[name])

    plain = {
        label.rsplit(", ", 1)[1]: statistics.median(values)
        for label, values in figures.items()
        if label.startswith("plain library script, ")
    }
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")
    print(f"| case | median s | x plain | runs ({arguments.repeats}) |")
    print("|---|---:|---:|---|")
    for label, values in figures.items():
        runs = ", ".join(f"{value:.1f}" for value in values)
        median = statistics.median(values)
        what = next((what for what in plain if f", {what}" in label), None)
        ratio = f"{median / plain[what]:.2f}" if what else ""
        print(f"| {label} | {median:.1f} | {ratio} | {runs} |")


if __name__ == "__main__":
    main()
