"""Shared by the chapter-7 example scripts: the ``--smoke`` flag (tiny sizes, runs in seconds)."""

import argparse


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: runs in seconds (used by CI)")
    return parser.parse_args()
