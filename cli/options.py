"""Command-line options generated from the stage configs, so no name, default or help
text is written here.

Every option a config field carries (its ``metadata["help"]``) becomes ``--field-name``
(or ``metadata["flag"]``) whose value is left out when the user does not give it;
:func:`config_from` then builds the config, which applies its own defaults, and the
command hands it to its flow whole.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

Config = TypeVar("Config")

# Dataclass annotations are strings here (``from __future__ import annotations``).
_PARSERS: dict[str, Any] = {"int": int, "float": float, "str": str}


def _value_type(annotation: str) -> str:
    """The base type of an annotation such as ``int | None`` or ``Side``."""
    return next(
        (part for part in (piece.strip() for piece in annotation.split("|")) if part != "None"),
        "str",
    )


def flag(field: dataclasses.Field[Any]) -> str:
    """The option's name for a config field."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def destination(field: dataclasses.Field[Any]) -> str:
    """Where the option's value lands: the flag's name (``--split-seed`` ->
    ``split_seed`` for ``PreprocessConfig.seed``)."""
    return flag(field)[2:].replace("-", "_")


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config: type,
    *,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> list[str]:
    """Add one option per documented field of the dataclass ``config``; a field whose
    option the parser already has (a setting two configs share) is not added twice.

    Args:
        parser: Where the options go.
        config: A stage config dataclass.
        only: Restrict to these field names.
        exclude: Leave these field names out.
        defaults: Defaults to show in the help instead of the field's own (the model's
            preprocessing, for instance); they are shown, not applied.

    Returns:
        The destinations of the options added (see :func:`destination`).
    """
    wanted = set(only) if only is not None else None
    added = []
    for field in dataclasses.fields(config):
        help_text = field.metadata.get("help")
        if help_text is None or field.name in exclude:
            continue
        if wanted is not None and field.name not in wanted:
            continue
        if flag(field) in _option_strings(parser):
            continue
        shown = (defaults or {}).get(field.name, field.default)
        if shown is not None and shown is not dataclasses.MISSING:
            help_text = f"{help_text} (default: {shown})"
        base = _value_type(str(field.type))
        options: dict[str, Any] = {"dest": destination(field), "default": argparse.SUPPRESS}
        if base == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif base.startswith("tuple["):
            parts = [part.strip() for part in base[len("tuple[") : -1].split(",")]
            options.update(nargs=len(parts), type=_PARSERS.get(parts[0], str))
            options["metavar"] = tuple(field.metadata.get("metavar", parts))
        elif "choices" in field.metadata:
            options["choices"] = tuple(field.metadata["choices"])
        else:
            options["type"] = _PARSERS.get(base, str)
        parser.add_argument(flag(field), help=help_text, **options)
        added.append(destination(field))
    return added


def _option_strings(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> set[str]:
    # An argument group shares its parser's table of option strings.
    return set(parser._option_string_actions)


def config_from(arguments: argparse.Namespace, config: type[Config], **values: Any) -> Config:
    """Build ``config`` from the options of its fields the user set, plus ``values``.

    Raises:
        ConfigError: If a value is out of range (the config's own check).
    """
    settings = {
        field.name: getattr(arguments, destination(field))
        for field in dataclasses.fields(config)  # type: ignore[arg-type]
        if "help" in field.metadata and hasattr(arguments, destination(field))
    }
    return config(**settings, **values)


def given(arguments: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` that the user set, by destination."""
    return {name: getattr(arguments, name) for name in names if hasattr(arguments, name)}
