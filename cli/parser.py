"""The argument parser every ``sentiment`` command uses: a mistyped option is named as
such, with the option it was probably meant to be."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors name an unknown option first.

    argparse reports missing required options before unknown ones, so ``--ouput x``
    read only "the following arguments are required: --output". Subcommands' parsers
    are of this class too (argparse makes them of their parent's class).
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def _unknown_option(self) -> str | None:
        known = set(self._option_string_actions)
        commands: dict[str, argparse.ArgumentParser] = {}
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                commands |= action.choices
        for argument in getattr(self, "_given", []):
            if argument == "--":
                break
            if argument in commands:  # what follows is the subcommand's
                command = commands[argument]
                return command._unknown_option() if isinstance(command, Parser) else None
            option = argument.split("=", 1)[0]
            # A prefix of a known option is argparse's abbreviation, not a typo.
            if not option.startswith("--") or any(name.startswith(option) for name in known):
                continue
            close = difflib.get_close_matches(option, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            return f"unrecognized option {option}{hint}"
        return None

    def error(self, message: str) -> NoReturn:
        super().error(self._unknown_option() or message)
