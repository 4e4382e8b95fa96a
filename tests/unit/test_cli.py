"""The console script: cheap to ask for help, options generated from the stage configs."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser
from sentiment.data.config import ArchiveConfig, PreprocessConfig, TokenizingConfig
from sentiment.encoding.config import VectorizerConfig
from sentiment.labelling.config import QueueConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.config import GatePolicy, RetrainConfig
from sentiment.scoring.config import DASK_ADDRESS_VARIABLE, ClusterConfig, ScoringConfig

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numba", "tensorflow", "keras", "prefect", "pyarrow")


@pytest.mark.parametrize(
    "argv", [["--help"], ["score", "--help"], ["train", "--help"], ["label-queue", "--help"]]
)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def _documented(config: type) -> set[str]:
    return {field.name for field in dataclasses.fields(config) if "help" in field.metadata}


def test_every_documented_setting_is_an_option_of_its_command() -> None:
    parser = build_parser()
    actions = {
        name: {action.dest for action in subparser._actions}
        for name, subparser in parser._subparsers._group_actions[0].choices.items()
    }
    assert _documented(VectorizerConfig) <= actions["preprocess"] & actions["train"]
    assert {"validation_fraction", "split_seed"} <= actions["preprocess"] & actions["train"]
    assert _documented(TrainConfig) - {"model", "seed"} <= actions["train"]
    assert "training_seed" in actions["train"]
    assert _documented(GatePolicy) <= actions["evaluate"]
    assert _documented(ArchiveConfig) <= actions["ingest"] & actions["retrain"]
    assert _documented(TokenizingConfig) <= actions["preprocess"]
    assert _documented(ScoringConfig) <= actions["score"]
    assert {"dask_workers", "dask_address"} <= actions["score"]
    assert _documented(RetrainConfig) <= actions["retrain"]
    assert _documented(QueueConfig) <= actions["label-queue"]
    assert "workers" not in actions["score"] | actions["preprocess"]


def test_options_the_user_did_not_set_are_left_out() -> None:
    arguments = build_parser().parse_args(["train", "--model", "mlp", "--max-length", "64"])
    assert not hasattr(arguments, "epochs") and not hasattr(arguments, "num_words")
    assert arguments.max_length == 64
    arguments = build_parser().parse_args(["score", "in.csv", "--output", "out"])
    assert not any(hasattr(arguments, name) for name in _documented(ScoringConfig))


def test_defaults_shown_in_help_are_the_configs() -> None:
    preprocess_help = build_parser()._subparsers._group_actions[0].choices["preprocess"]
    text = preprocess_help.format_help()
    assert "(default: 800000)" in text  # the default model's num_words
    assert f"(default: {PreprocessConfig.validation_fraction})" in text


def test_retrain_offers_every_training_and_gate_setting() -> None:
    retrain = build_parser()._subparsers._group_actions[0].choices["retrain"]
    destinations = {action.dest for action in retrain._actions}
    assert _documented(VectorizerConfig) | _documented(GatePolicy) <= destinations
    assert _documented(TrainConfig) - {"seed", "preprocess"} | {"training_seed"} <= destinations
    assert "preprocess" not in destinations


def test_the_options_given_become_one_settings_object_per_stage() -> None:
    from cli.data import training_config
    from cli.options import config_from

    options = "--model mlp --max-length 64 --training-seed 7 --split-seed 3 --minimum-accuracy 0.5"
    arguments = build_parser().parse_args(["retrain", *options.split()])
    mlp = TrainConfig(model="mlp").resolved_vectorizer
    assert training_config(arguments) == TrainConfig(
        model="mlp", seed=7, split_seed=3, vectorizer=dataclasses.replace(mlp, max_length=64)
    )
    assert config_from(arguments, GatePolicy) == GatePolicy(minimum_accuracy=0.5)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["score", "dump.csv", "--ouput", "out"],
            "unrecognized option --ouput; did you mean --output?",
        ),
        (["--hme", "x", "models"], "unrecognized option --hme; did you mean --home?"),
        (["models", "--jsn"], "unrecognized option --jsn; did you mean --json?"),
    ],
)
def test_a_mistyped_option_is_named_with_the_one_meant(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    error = capsys.readouterr().err
    assert expected in error and "required" not in error


def test_an_abbreviated_option_is_not_a_typo() -> None:
    arguments = build_parser().parse_args(["score", "dump.csv", "--out", "out"])
    assert arguments.output == "out"


def test_every_command_describes_itself_in_its_help() -> None:
    parser = build_parser()
    (commands,) = [
        action
        for action in parser._actions
        if hasattr(action, "choices") and action.choices and isinstance(action.choices, dict)
    ]
    for name, command in commands.choices.items():
        assert command.description, f"`sentiment {name} --help` has no description"


@pytest.mark.parametrize(
    ("command", "config"),
    [("score", ClusterConfig), ("retrain", RetrainConfig), ("train", TrainConfig)],
)
def test_a_flow_setting_is_described_once_in_its_config(command: str, config: type) -> None:
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    helps = {action.dest: action.help or "" for action in parser._actions}
    for field in dataclasses.fields(config):
        if "help" not in field.metadata:
            continue
        flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
        assert helps[flag[2:].replace("-", "_")].startswith(field.metadata["help"])


def test_the_dask_address_comes_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli.scoring import _cluster_config

    monkeypatch.setenv(DASK_ADDRESS_VARIABLE, "tcp://127.0.0.1:1")
    given = build_parser().parse_args(["score", "in.csv", "--output", "o", "--dask-workers", "2"])
    assert _cluster_config(given) == ClusterConfig(workers=2, address="tcp://127.0.0.1:1")
    arguments = ["score", "in.csv", "--output", "o", "--dask-address", "tcp://127.0.0.1:2"]
    assert _cluster_config(build_parser().parse_args(arguments)).address == "tcp://127.0.0.1:2"
    monkeypatch.delenv(DASK_ADDRESS_VARIABLE)
    assert _cluster_config(build_parser().parse_args(arguments[:4])) == ClusterConfig()


def test_retrain_options_become_the_retrain_config() -> None:
    from cli.options import config_from

    arguments = build_parser().parse_args(["retrain", "--force", "--labelled-inbox", "in"])
    assert config_from(arguments, RetrainConfig) == RetrainConfig(labelled_inbox="in", force=True)
    assert config_from(build_parser().parse_args(["retrain"]), RetrainConfig) == RetrainConfig()


def test_no_preprocess_is_the_training_setting() -> None:
    from cli.data import training_config

    arguments = build_parser().parse_args(["train", "--no-preprocess"])
    assert training_config(arguments) == TrainConfig(preprocess=False)
    assert training_config(build_parser().parse_args(["train"])).preprocess
