#!/usr/bin/env bash
# Build everything, install the kernel into .venv, and start JupyterLab on notebooks/.
# Extra arguments go to `jupyter lab`, e.g.: scripts/lab.sh --no-browser --ip 127.0.0.1
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The notebooks' data: generated once into ~/.cache/strata/tutorial (or $STRATA_DATA).
"${CARGO_TARGET_DIR:-target}/release/strata" tutorial

# A warm spare engine beside JupyterLab, so that the first notebook of the day starts warm
# too (each kernel that takes it starts the next; it exits after an hour unused). Started
# with the kernelspec's environment, so kernels Jupyter starts can take it.
STRATA_CRATES_DIR="$PWD" "${CARGO_TARGET_DIR:-target}/release/strata" pool start

# The venv's kernelspec first, ahead of any `strata` installed with --user elsewhere.
export JUPYTER_PATH="$PWD/.venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PATH="$PWD/.venv/bin:$PATH"
# JupyterLab refuses to run as root unless told (containers and CI machines often are root).
ROOT_FLAG=()
if [ "$(id -u)" -eq 0 ]; then ROOT_FLAG=(--allow-root); fi
exec .venv/bin/jupyter lab --notebook-dir notebooks "${ROOT_FLAG[@]}" "$@"
