#!/usr/bin/env bash
# Build Strata and install it into the project-local Jupyter environment (.venv).
#
# Idempotent: the venv is created once, Python packages are reinstalled only when
# tests/requirements.txt (or the Python version) changes, cargo rebuilds only what changed,
# and the kernelspec is rewritten each time so it always points at this checkout's binary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/requirements.txt"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
STRATA="$TARGET_DIR/release/strata"

say() { printf '==> %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    say "creating Python environment $VENV"
    python3 -m venv "$VENV"
fi

# The stamp names the hash of the requirements and of the interpreter, so an edit to either
# reinstalls; a failed install leaves no stamp and is retried next time.
req_hash="$( { cat "$REQUIREMENTS"; "$VENV/bin/python" --version; } | sha256sum | cut -c1-16)"
stamp="$VENV/.strata-requirements-$req_hash"
if [ -f "$stamp" ]; then
    say "Python packages up to date"
else
    say "installing Python packages from tests/requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    rm -f "$VENV"/.strata-requirements-*
    touch "$stamp"
fi

say "building the kernel (cargo build --release -p strata-kernel)"
cargo build --release -p strata-kernel

say "installing the kernelspec 'strata' into $VENV (and warming the compile cache)"
"$STRATA" install --prefix "$VENV"

say "setup done"
