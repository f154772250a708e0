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

say() { printf '==> %s %s\n' "$(date +%T)" "$*"; }

# The runtime reads NetCDF through the system's libnetcdf (the netcdf crate links it).
if ! [ -e /usr/include/netcdf.h ]; then
    say "installing libnetcdf-dev (apt-get)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libnetcdf-dev >/dev/null
fi

# The newest data peers (kerchunk, VirtualiZarr, icechunk, zarr-python 3) need Python 3.12:
# STRATA_PYTHON if set, else python3.12 on the PATH, else one pyenv installed, else pyenv
# installs it.
find_python() {
    local candidate
    for candidate in "${STRATA_PYTHON:-}" "$(command -v python3.12 || true)" \
        "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        say "installing Python 3.12 with pyenv" >&2
        pyenv install --skip-existing 3.12 >&2 || return 1
        candidate="$(pyenv root)/versions/$(pyenv latest 3.12)/bin/python3.12"
        [ -x "$candidate" ] && echo "$candidate" && return 0
    fi
    return 1
}
PYTHON="$(find_python)" || {
    echo "setup.sh: Python 3.12 is needed (for kerchunk, VirtualiZarr and icechunk); install it, or point STRATA_PYTHON at one" >&2
    exit 1
}

# A venv made with another Python (an older checkout's) is made again.
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
    say "replacing $VENV (made with $("$VENV/bin/python" --version 2>&1)) with a Python 3.12 one"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    say "creating Python environment $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
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

# rust-analyzer (inside the kernel, for variable types and completions) reads the standard
# library's sources. Without them it runs `rustup component add rust-src` itself each time a
# kernel loads its crate graph, in front of the user (a download, or a failure offline), so the
# component is added here, once.
sysroot="$(rustc --print sysroot 2>/dev/null || true)"
if [ -n "$sysroot" ] && ! [ -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
    if command -v rustup >/dev/null 2>&1; then
        say "adding the rust-src component (rustup) for rust-analyzer"
        rustup component add rust-src || say "could not add rust-src: completions of std names will be missing"
    else
        say "no rust-src in $sysroot and no rustup: completions of std names will be missing"
    fi
fi

say "building the kernel and the runtime's tools (cargo build --release --workspace --bins)"
# The kernel, and strata-tutorial (which `strata tutorial` runs) and strata-eval from the runtime
# package. Built with the whole workspace's features, as `cargo test --release --workspace`
# resolves them: with only these packages selected, cargo turns on fewer features of shared
# crates (strata-cells asks for some, see its Cargo.toml), and the test command would then
# compile serde, ndarray, zarrs and rust-analyzer's crates a second time (minutes in CI).
cargo build --release --workspace --bins

say "installing the kernelspec 'strata' into $VENV (and warming the compile cache)"
"$STRATA" install --prefix "$VENV"

say "setup done"
