"""Command-line flags generated from declared fields: one ``--flag`` per declared option.

An unset flag stays None, so the dataclass default applies and is declared once, in the class.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from ..params import Option

__all__ = ["add_flags", "given"]


def _default(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    text = str(value)
    return text if text.isprintable() else repr(text)


def _parser(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse``, with its ValueError shown as is (argparse would say only "invalid value")."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_flags(parser: argparse._ActionsContainer, declared: Sequence[Option]) -> None:
    """Add one flag per declared field to ``parser`` (a parser or an argument group)."""
    for option in declared:
        text = option.help
        if option.default is not None:
            text += f" (default: {_default(option.default)})"
        if option.kind is bool:
            parser.add_argument(
                option.flag, dest=option.name, action=argparse.BooleanOptionalAction, help=text
            )
            continue
        parser.add_argument(
            option.flag,
            dest=option.name,
            type=option.kind if option.parse is None else _parser(option.parse),
            choices=option.choices,
            metavar=option.metavar or option.name.upper(),
            help=text,
        )


def given(args: argparse.Namespace, declared: Sequence[Option]) -> dict[str, Any]:
    """The declared fields whose flags were given, by field name (argparse made each value of
    its field's type, which the dataclass checks again)."""
    return {o.name: getattr(args, o.name) for o in declared if getattr(args, o.name) is not None}
