"""The ``loom`` command line: ``loom demo``, ``loom summary FILE``, ``loom board LOGDIR``, ``loom version``.

Example:
    $ loom demo --quick
    $ loom summary model.loom
    $ loom board logs --port 6006
    $ loom tune search.py
"""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from loom.demo import run_demo
    return run_demo(quick=args.quick, data_dir=args.data, workdir=args.workdir)


def _summary(args: argparse.Namespace) -> int:
    from loom.models import load_model
    load_model(args.file, compile=False).summary()
    return 0


def _board(args: argparse.Namespace) -> int:
    from loom.callbacks.tensorboard_server import serve
    return serve(args.logdir, args.port)


def _tune(args: argparse.Namespace) -> int:
    from loom.tuning.cli_tune import main as tune_main
    return tune_main(["--help"] if args.tune_help else args.rest)


def _version(args: argparse.Namespace) -> int:
    import torch

    import loom
    print(f"loom {loom.__version__} (torch {torch.__version__})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loom", description="Keras's API on PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train, watch and evaluate models on real Fashion-MNIST")
    demo.add_argument("--quick", action="store_true", help="a much smaller run (seconds), for smoke tests")
    demo.add_argument("--data", default=None, help="directory with the Fashion-MNIST IDX files")
    demo.add_argument("--workdir", default="loom-demo", help="where models, logs and plots go (default loom-demo)")
    demo.set_defaults(fn=_demo)
    summary = sub.add_parser("summary", help="print the summary of a saved .loom model")
    summary.add_argument("file")
    summary.set_defaults(fn=_summary)
    board = sub.add_parser("board", help="start TensorBoard on 127.0.0.1 for a log directory")
    board.add_argument("logdir", help="the log_dir of a loom.callbacks.TensorBoard callback")
    board.add_argument("--port", type=int, default=6006, help="port on 127.0.0.1 (default 6006; 0: any free one)")
    board.set_defaults(fn=_board)
    tune = sub.add_parser("tune", add_help=False, help="hyperparameter search: 'loom tune SCRIPT', "
                          "'loom tune worker SCRIPT --storage URL', 'loom tune status' (see loom tune --help)")
    tune.add_argument("-h", "--help", action="store_true", dest="tune_help")
    tune.add_argument("rest", nargs=argparse.REMAINDER)
    tune.set_defaults(fn=_tune)
    version = sub.add_parser("version", help="print versions")
    version.set_defaults(fn=_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    from loom.errors import LoomError
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except LoomError as e:
        print(f"loom: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
