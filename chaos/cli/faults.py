"""One subcommand per fault; its flags are generated from the fault's parameter dataclass."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from typing import Any

from ..faults.base import Fault
from ..faults.registry import FAULTS
from ..params import FaultParams, options
from ..plan import MAX_HORIZON, ClientSpec, Plan
from .common import add_output_flags, add_run_flags, check_target, execute
from .flags import add_flags, given
from .usage import Subparsers, UsageError

__all__ = [
    "HORIZON_MARGIN",
    "add_param_flags",
    "command_name",
    "default_horizon",
    "plan_from_args",
    "register",
]

# Time added to a single fault's own bound for the default horizon, so it ends on its own terms.
HORIZON_MARGIN = 0.5


def add_param_flags(parser: argparse.ArgumentParser, params: type[FaultParams]) -> None:
    """One ``--flag`` per parameter field; unset flags keep the dataclass default."""
    add_flags(parser.add_argument_group("fault parameters"), options(params))


def default_horizon(params: FaultParams, count: int) -> float:
    """Long enough for every client of one spec to end by its own bounds."""
    return min(MAX_HORIZON, params.stagger(count - 1) + params.budget() + HORIZON_MARGIN)


def plan_from_args(fault: Fault[Any], args: argparse.Namespace) -> Plan:
    """The one-spec plan a fault subcommand describes."""
    try:
        spec = ClientSpec(
            kind=fault.kind, params=given(args, options(fault.params)), count=args.count
        )
        horizon = args.horizon
        if horizon is None:
            horizon = default_horizon(spec.parsed(), spec.count)
        seed = secrets.randbelow(2**31) if args.seed is None else args.seed
        return Plan(clients=(spec,), horizon=horizon, seed=seed, target=args.target)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def command_name(kind: str) -> str:
    """The one spelling of a fault's subcommand: ``never-send`` for ``never_send``."""
    return kind.replace("_", "-")


def _example(fault: Fault[Any]) -> str:
    hold = " --hold 30" if any(o.name == "hold" for o in options(fault.params)) else ""
    return f"example: chaos {command_name(fault.kind)} --target 127.0.0.1:8080 --count 10{hold}"


def _handler(fault: Fault[Any]) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        plan = plan_from_args(fault, args)
        target = check_target(args.target, allow_remote=args.allow_remote)
        return execute(plan, target, args)

    return handle


def register(subparsers: Subparsers) -> None:
    """Add one subcommand per registered fault."""
    for fault in FAULTS.values():
        summary = fault.summary.replace("``", "")
        parser = subparsers.add_parser(
            command_name(fault.kind), help=summary, description=summary, epilog=_example(fault)
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
        add_run_flags(parser)
        add_param_flags(parser, fault.params)
        parser.set_defaults(handler=_handler(fault))
