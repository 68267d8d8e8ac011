#!/usr/bin/env bash
# Sets up (scripts/setup.sh test) and runs the whole test suite, examples included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
python3 -m pytest "$@"
