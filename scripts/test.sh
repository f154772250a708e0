#!/usr/bin/env bash
# The one test command: build and install (scripts/setup.sh), the Rust tests, then the
# end-to-end Python tests that drive the installed kernel as Jupyter clients would.
# Extra arguments go to pytest, e.g.: scripts/test.sh -k interrupt
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

say() { printf '==> %s %s\n' "$(date +%T)" "$*"; }

bash scripts/setup.sh

# The browser test drives JupyterLab in Debian's Chromium (Playwright downloads no browser).
if ! [ -x /usr/bin/chromium ]; then
    say "installing chromium (apt-get) for the browser test"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# --release: the same profile setup.sh built, so CI compiles the dependency tree once.
say "cargo test --release --workspace"
cargo test --release --workspace

# The kernelspec installed into .venv must win over any `strata` installed with --user.
export JUPYTER_PATH="$ROOT/.venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

# Kernels start warm from spare engines (kernel/src/pool); none is left behind, whatever
# the outcome (conftest.py stops them too; this covers an interrupted run).
STRATA_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
trap '"$STRATA_BIN" pool stop >/dev/null 2>&1 || true' EXIT

say "pytest tests"
"$ROOT/.venv/bin/python" -m pytest tests -v --durations=25 "$@"
say "all tests passed"
