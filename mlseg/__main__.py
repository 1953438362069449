"""Command line: ``python -m mlseg <command>``; ``python -m mlseg --help`` lists the commands."""

from __future__ import annotations

import argparse
import sys


def _exercises(args):
    from .exercises import SolutionMarkerError, generate

    try:
        changed = generate(args.root, check=args.check)
    except (FileNotFoundError, SolutionMarkerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print("exercises/ is out of date with solutions/; run `python -m mlseg exercises`:")
            for name in changed:
                print(f"  {name}")
            return 1
        print("exercises/ is up to date with solutions/")
        return 0
    print(f"wrote {len(changed)} exercise notebook(s)" + "".join(f"\n  {n}" for n in changed))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m mlseg",
        description="mlseg: a Jupyter course on image segmentation. Commands for authors, "
                    "students and instructors.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ex = commands.add_parser(
        "exercises",
        help="generate exercises/ from solutions/ (answers removed, outputs cleared)",
        description="Generate exercises/NN_topic.ipynb from solutions/NN_topic.ipynb.",
    )
    ex.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the committed exercises/ differ")
    ex.add_argument("--root", default=None,
                    help="course folder holding solutions/ (default: found upwards from here)")
    ex.set_defaults(run=_exercises)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
