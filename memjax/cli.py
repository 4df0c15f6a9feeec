"""Command line: ``memjax list`` and ``memjax run NAME [--preset] [--workdir] [--config.K=V]``.

The CLI only parses arguments and calls :func:`experiments.run_experiment`, which also
serves notebooks and tests.
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memjax", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name every experiment and the paper figure it reproduces")
    run = commands.add_parser(
        "run",
        help="run an experiment into a new run folder",
        epilog="Override any config key with --config.KEY=VALUE, e.g. --config.train.max_steps=500",
    )
    run.add_argument("name")
    run.add_argument("--preset", choices=("quick", "paper"), default="quick")
    run.add_argument("--workdir", default=None, help="run folder (default runs/NAME-TIMESTAMP)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import experiments

    args, rest = _parser().parse_known_args(argv)
    if args.command == "list":
        for name, module in experiments.EXPERIMENTS.items():
            print(f"{name:<16} {experiments.load(name).PAPER_FIGURE}  ({module})")
        return 0
    unknown = [a for a in rest if not a.startswith("--config.")]
    if unknown:
        _parser().error(f"unrecognized arguments: {' '.join(unknown)}")
    overrides = [a.removeprefix("--config.") for a in rest]
    try:  # user errors (name, keys, types) end with a message, not a traceback
        config = experiments.prepare_config(args.name, args.preset, overrides)
    except (KeyError, TypeError, ValueError) as error:
        print(f"memjax: error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    workdir = experiments.run_experiment(args.name, config, args.workdir)
    print(f"run folder: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
