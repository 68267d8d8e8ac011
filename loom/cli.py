"""The ``loom`` command line: ``loom demo``, ``loom summary FILE``, ``loom convert IN OUT``, ``loom board LOGDIR``,
``loom version``.

Example:
    $ loom demo --quick
    $ loom summary model.loom
    $ loom convert keras_model.keras model.loom
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


def _convert(args: argparse.Namespace) -> int:
    """Read any model file loom knows (by content) and write it in the format OUT's suffix names."""
    from loom.models import load_model
    from loom.models.saving import save_model
    model = load_model(args.input, compile=not args.no_compile, safe_mode=not args.unsafe)
    save_model(model, args.output, overwrite=args.overwrite, include_optimizer=not args.no_compile)
    model.summary()
    kind = {".keras": "Keras 3 archive", ".h5": "legacy Keras .h5 model"}.get(
        next((s for s in (".keras", ".h5") if args.output.endswith(s)), ""), ".loom file")
    print(f"Converted {args.input} -> {args.output} ({kind})")
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
    summary = sub.add_parser("summary", help="print the summary of a saved model (.loom, .keras or .h5)")
    summary.add_argument("file")
    summary.set_defaults(fn=_summary)
    convert = sub.add_parser("convert", help="convert a model file: .keras / .h5 / .loom in any direction "
                             "(the output format follows OUT's suffix: .keras, .h5, anything else .loom)")
    convert.add_argument("input", help="a .loom file, a Keras 3 .keras archive or a Keras .h5 full model")
    convert.add_argument("output", help="where to write")
    convert.add_argument("--no-compile", action="store_true", help="drop the compile config and optimizer state")
    convert.add_argument("--unsafe", action="store_true", help="allow Lambda layers and unregistered classes "
                         "(imports and runs code named in the file: only for files you trust)")
    convert.add_argument("--no-overwrite", dest="overwrite", action="store_false", help="fail if OUT exists")
    convert.set_defaults(fn=_convert)
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
