"""The ``bayesirl`` command line: argument parsing only.

Each subcommand is one module here with ``NAME``, ``add_parser(subparsers)`` and ``run(args)
-> int``: it turns arguments into the application's inputs (a
:class:`~bayesirl.app.config.RunConfig`, report or query options), calls :mod:`bayesirl.app`
and prints. To add a command, write ``bayesirl/cli/<name>.py`` with those three names (and the
work in ``bayesirl/app/<name>.py``), then list the module in :data:`COMMANDS`.

Exit status: 0 success; 1 ``fit --strict`` with failed diagnostics, or ``sweep`` with
failed points; 2 a user error (one line
on stderr naming the flag); 130 interrupted (SIGINT/SIGTERM; nothing half-written is left).
"""

from __future__ import annotations

import signal
import sys
import threading

from bayesirl import _interrupt
from bayesirl.app.errors import UsageError
from bayesirl.cli import compare, fit, make_mdp, query, report, sweep
from bayesirl.cli.types import CLIError, Parser

__all__ = ["main", "build_parser", "CLIError", "COMMANDS"]

#: The subcommand modules, in the order ``--help`` lists them.
COMMANDS = (fit, report, query, compare, make_mdp, sweep)
#: Exit status of an interrupted command (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = _interrupt.EXIT_INTERRUPTED


def build_parser() -> Parser:
    """The argparse parser of the ``bayesirl`` command."""
    parser = Parser(prog="bayesirl", description="Bayesian inverse reinforcement learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 strict failure, 2 user error,
    130 interrupted)."""
    previous = None
    if threading.current_thread() is threading.main_thread() and not _interrupt.installed():
        previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        args = build_parser().parse_args(argv)
        command = next(c for c in COMMANDS if c.NAME == args.command)
        return command.run(args)
    except KeyboardInterrupt:
        print(_interrupt.MESSAGE, file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CLIError, UsageError) as err:
        print(f"bayesirl: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError, ImportError, OSError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"bayesirl: error: {message}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
