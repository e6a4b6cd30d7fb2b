"""The course's command line: python -m d2lutil COMMAND ... (see --help)."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each command lives in the module named here, which defines add_arguments(parser) and main(args).
COMMANDS = {
    "run": ("d2lutil.runner", "execute the chapter notebooks with papermill into a build folder"),
    "exercises": ("d2lutil.grading.generate", "generate exercises/ from solutions/ (answers become stubs)"),
    "grade": ("d2lutil.grading.batch", "grade exercise notebooks, one or a folder, in sandboxes, into a gradebook"),
    "autograder": ("d2lutil.grading.autograder", "build the Gradescope autograder zip of one chapter"),
    "sweep": ("d2lutil.sweep.command", "run a notebook at every point of a parameter grid, locally or on a Dask cluster"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per entry of COMMANDS."""
    parser = argparse.ArgumentParser(prog="python -m d2lutil", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; bad input exits with status 2 and a message."""
    args = build_parser().parse_args(argv)
    try:
        return importlib.import_module(COMMANDS[args.command][0]).main(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
