#!/usr/bin/env bash
# Installs loom and everything it needs on a fresh Debian machine. Idempotent: a second run changes nothing.
#   bash scripts/setup.sh        # loom and the demo's needs
#   bash scripts/setup.sh test   # plus the test suite's needs (Keras 3 as the test oracle, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
command -v dot >/dev/null 2>&1 || packages+=(graphviz)
# The tests start a throwaway PostgreSQL server (tests/tuning/postgres.py) for the multi-worker tuning test.
if [ "$extras" = "test" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  packages+=(postgresql)
fi
if [ ${#packages[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "setup: please install ${packages[*]} (Debian package names)" >&2
  fi
fi

# torch first and pinned: an unpinned torch makes pip fetch gigabytes of CUDA packages.
python3 -m pip install -q torch==2.13.0
if [ "$extras" = "test" ]; then
  python3 -m pip install -q -e ".[test,docs]"
else
  python3 -m pip install -q -e .
fi
