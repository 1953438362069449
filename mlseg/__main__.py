"""Command line: ``python -m mlseg <command>``; ``python -m mlseg --help`` lists the commands."""

from __future__ import annotations

import argparse
import sys


def _exercises(args):
    from .exercises import ReleaseError, generate

    try:
        changed = generate(args.root, check=args.check)
    except (FileNotFoundError, ReleaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print("out of date (exercises/ with solutions/, or Colab links with "
                  "[project.urls]); run `python -m mlseg exercises`:")
            for name in changed:
                print(f"  {name}")
            return 1
        print("exercises/ and the Colab links are up to date")
        return 0
    print(f"updated {len(changed)} notebook(s)" + "".join(f"\n  {n}" for n in changed))
    return 0


def _seed_from(args):
    import os

    from .grading import SEED_VARIABLE

    if args.seed is not None:
        return args.seed
    value = os.environ.get(SEED_VARIABLE)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"error: {SEED_VARIABLE} must be an integer, got {value!r}") from None


def _grade(args):
    from .grading import SEED_VARIABLE, grade

    seed = _seed_from(args)
    if seed is None:
        print(f"error: give the grading seed with --seed N or the {SEED_VARIABLE} environment "
              "variable (keep it secret from the students)", file=sys.stderr)
        return 2
    try:
        run = grade(args.submissions, out=args.out, seed=seed, root=args.root, jobs=args.jobs,
                    cell_timeout=args.cell_timeout, timeout=args.timeout,
                    case_timeout=args.case_timeout, feedback=args.feedback,
                    progress=not args.quiet)
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = run.counts()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in
                        ("passed", "partial", "failed", "error", "timeout", "missing"))
    students = len({r.student for r in run.rows})
    print(f"graded {students} students, {len(run.rows)} exercises: {summary}; "
          f"{run.seconds:.1f} s; gradebook {args.out}")
    return 0


def _check(args):
    from .grading import self_check

    try:
        rows, notes = self_check(args.notebook, root=args.root)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width = max(len(r["exercise"]) for r in rows)
    for row in rows:
        print(f"{row['exercise']:<{width}}  {row['score']:5.2f} / {row['max_score']:<4g} "
              f"{row['status']:<8} {row['detail']}")
    for note in notes:
        print(f"note: {note}")
    total = sum(r["score"] for r in rows)
    most = sum(r["max_score"] for r in rows)
    print(f"total {total:.2f} / {most:g} (public cases; your instructor grades with others)")
    return 0 if all(r["status"] == "passed" for r in rows) else 1


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

    gr = commands.add_parser(
        "grade",
        help="grade a class: SUBMISSIONS/<student>/<NN_topic>.ipynb -> gradebook CSV",
        description="Grade every student's exercise notebooks, each in its own kernel, with a "
                    "seed the students do not know. Submissions are never modified.",
    )
    gr.add_argument("submissions", metavar="SUBMISSIONS",
                    help="folder with one sub-folder per student")
    gr.add_argument("--out", required=True, help="gradebook CSV to write (atomically)")
    gr.add_argument("--seed", type=int, default=None,
                    help="grading seed (or the MLSEG_GRADING_SEED environment variable)")
    gr.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    gr.add_argument("--cell-timeout", type=float, default=10.0, metavar="S",
                    help="limit per notebook cell in seconds (default 10)")
    gr.add_argument("--timeout", type=float, default=120.0, metavar="S",
                    help="limit per notebook in seconds (default 120)")
    gr.add_argument("--case-timeout", type=float, default=5.0, metavar="S",
                    help="limit per grading case in seconds (default 5)")
    gr.add_argument("--feedback", default=None, metavar="DIR",
                    help="write one feedback file per student into DIR")
    gr.add_argument("--root", default=None, help="course folder holding solutions/")
    gr.add_argument("--quiet", action="store_true", help="no progress bar")
    gr.set_defaults(run=_grade)

    ck = commands.add_parser(
        "check",
        help="self-check one exercise notebook outside Jupyter (public cases)",
        description="Run an exercise notebook in a fresh kernel and check every exercise "
                    "with the public cases, as the grader would.",
    )
    ck.add_argument("notebook", help="e.g. exercises/02_evaluation.ipynb")
    ck.add_argument("--root", default=None, help="course folder holding solutions/")
    ck.set_defaults(run=_check)
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
