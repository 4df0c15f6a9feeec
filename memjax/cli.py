"""Command line: ``memjax list``, ``memjax run NAME``, ``memjax data download NAME``.

The CLI only parses arguments and calls :mod:`memjax.experiment` (which also serves notebooks
and tests) or :mod:`memjax.data.download`. Mistakes a user can make (an unknown experiment,
key or preset, a value of the wrong type or range, a missing dataset) end with one line on
stderr and exit status 2, not a traceback; ``MEMJAX_TRACEBACK=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from memjax import experiment as experiments

USER_ERRORS = (KeyError, TypeError, ValueError, FileNotFoundError, FileExistsError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memjax", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every experiment by paper, with its quick-preset runtime")
    run = commands.add_parser(
        "run",
        help="run an experiment into a new run folder",
        epilog="Override any config key with --config.KEY=VALUE, e.g. --config.train.max_steps=500",
    )
    run.add_argument("name", nargs="?", help="the experiment (not with --resume)")
    run.add_argument("--preset", choices=experiments.PRESETS, default="quick")
    run.add_argument("--workdir", default=None, help="run folder (default runs/NAME-TIMESTAMP)")
    run.add_argument("--resume", metavar="DIR", default=None,
                     help="continue the interrupted run whose folder was DIR")  # fmt: skip
    run.add_argument("--checkpoint-every", type=int, default=experiments.CHECKPOINT_EVERY,
                     metavar="STEPS", help="steps between checkpoints (0: none)")  # fmt: skip
    data = commands.add_parser("data", help="datasets: `memjax data download NAME [--dir DIR]`")
    data.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, rest = _parser().parse_known_args(argv)
    try:
        if args.command == "list":
            print(list_text())
            return 0
        if args.command == "data":
            from memjax.data import download

            return download.cli(args.args + rest)
        return _run(args, rest)
    except USER_ERRORS as error:
        if os.environ.get("MEMJAX_TRACEBACK"):
            raise
        message = error.args[0] if error.args else str(error)
        print(f"memjax: error: {message}", file=sys.stderr)
        return 2


def _run(args, rest) -> int:
    unknown = [a for a in rest if not a.startswith("--config.")]
    if unknown:
        _parser().error(f"unrecognized arguments: {' '.join(unknown)}")
    overrides = [a.removeprefix("--config.") for a in rest]
    if args.resume:
        if args.name or overrides or args.workdir:
            raise ValueError("--resume DIR takes no experiment name, --workdir or --config")
        workdir = experiments.resume_experiment(args.resume)
    else:
        if not args.name:
            raise ValueError("name an experiment (`memjax list`), or --resume DIR")
        config = experiments.prepare_config(args.name, args.preset, overrides)
        if args.checkpoint_every < 0:
            raise ValueError(f"--checkpoint-every must be ≥ 0, got {args.checkpoint_every}")
        workdir = experiments.run_experiment(args.name, config, args.workdir, args.preset,
                                             checkpoint_every=args.checkpoint_every)  # fmt: skip
    print(f"run folder: {workdir}")
    return 0


def list_text() -> str:
    """Experiments grouped by paper: name, measured quick-preset CPU time, what it reproduces."""
    runtimes = experiments.quick_runtimes()
    by_paper: dict[str, list] = {}
    for exp in experiments.registry().values():
        by_paper.setdefault(exp.paper, []).append(exp)
    width = max((len(n) for n in experiments.registry()), default=10)
    lines = []
    for paper, members in by_paper.items():
        lines.append(f"[{paper}] {experiments.PAPERS[paper]}")
        for exp in members:
            seconds = runtimes.get(exp.name)
            runtime = f"{seconds:5.0f} CPU-s" if seconds is not None else "        —"
            lines.append(f"  {exp.name:<{width}}  {runtime}  {exp.figure}")
    lines.append(
        "(CPU-s: CPU seconds of the quick preset, all threads; on an idle 2-core machine "
        "the wall time is 0.5-1x that; measured by scripts/quick_results.py)"
    )
    for module, error in experiments.broken_modules().items():
        lines.append(f"BROKEN: {module} does not import: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
