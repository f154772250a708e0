#!/usr/bin/env bash
# The one test command: build and install (scripts/setup.sh), the Rust tests, then the
# end-to-end Python tests that drive the installed kernel as Jupyter clients would.
# Extra arguments go to pytest, e.g.: scripts/test.sh -k interrupt
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

say() { printf '==> %s\n' "$*"; }

bash scripts/setup.sh

# --release: the same profile setup.sh built, so CI compiles the dependency tree once.
say "cargo test --release --workspace"
cargo test --release --workspace

# The kernelspec installed into .venv must win over any `strata` installed with --user.
export JUPYTER_PATH="$ROOT/.venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

say "pytest tests"
"$ROOT/.venv/bin/python" -m pytest tests -v "$@"
