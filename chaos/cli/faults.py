"""One subcommand per fault; its flags are generated from the fault's parameter dataclass."""

from __future__ import annotations

import argparse
import secrets
import types
import typing
from typing import Any

from ..faults.base import Fault
from ..faults.registry import FAULTS
from ..params import FaultParams
from ..plan import MAX_HORIZON, ClientSpec, Plan
from .common import add_output_flags, check_target, execute
from .usage import UsageError

# Time added to a single fault's own bound for the default horizon, so it ends on its own terms.
HORIZON_MARGIN = 0.5


def _flag_type(hint: Any) -> type:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return next(t for t in options if t is not type(None))


def add_param_flags(parser: argparse.ArgumentParser, params: type[FaultParams]) -> None:
    """One ``--flag`` per parameter field; unset flags keep the dataclass default."""
    group = parser.add_argument_group("fault parameters")
    for name, hint, default, meta in params.describe():
        flag = "--" + name.replace("_", "-")
        kind = _flag_type(hint)
        text = meta.get("help", "") + ("" if default is None else f" (default: {default})")
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, help=text)
        else:
            group.add_argument(
                flag,
                dest=name,
                type=kind,
                choices=meta.get("choices"),
                metavar=name.upper(),
                help=text,
            )


def default_horizon(params: FaultParams, count: int) -> float:
    """Long enough for every client of one spec to end by its own bounds."""
    return min(MAX_HORIZON, params.stagger(count - 1) + params.budget() + HORIZON_MARGIN)


def plan_from_args(fault: Fault, args: argparse.Namespace) -> Plan:
    """The one-spec plan a fault subcommand describes."""
    given = {
        name: getattr(args, name)
        for name, *_ in fault.params.describe()
        if getattr(args, name) is not None
    }
    try:
        spec = ClientSpec(kind=fault.kind, params=given, count=args.count)
        horizon = args.horizon or default_horizon(spec.parsed(), spec.count)
        seed = secrets.randbelow(2**31) if args.seed is None else args.seed
        return Plan(clients=(spec,), horizon=horizon, seed=seed, target=args.target)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _handler(fault: Fault):
    def handle(args: argparse.Namespace) -> int:
        plan = plan_from_args(fault, args)
        target = check_target(args.target, allow_remote=args.allow_remote)
        return execute(plan, target, args)

    return handle


def register(subparsers: Any) -> None:
    """Add one subcommand per registered fault."""
    for kind, fault in FAULTS.items():
        aliases = [kind.replace("_", "-")] if "_" in kind else []
        parser = subparsers.add_parser(
            kind, aliases=aliases, help=fault.summary, description=fault.summary
        )
        parser.add_argument("--target", required=True, metavar="HOST:PORT", help="server to aim at")
        parser.add_argument("--count", type=int, default=1, help="how many clients (default: 1)")
        parser.add_argument(
            "--horizon",
            type=float,
            help="stop everything after this many seconds (default: enough)",
        )
        parser.add_argument("--seed", type=int, help="random seed (default: a fresh one, printed)")
        add_output_flags(parser)
        add_param_flags(parser, fault.params)
        parser.set_defaults(handler=_handler(fault))
