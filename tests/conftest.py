"""Fixtures shared by the end-to-end tests: the installed kernelspec and running kernels."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from strata_client import KERNEL_NAME, KernelSession, start_kernel

# Kernels started by the tests keep their history in a file of this test run, not in the
# user's: "search" answers then depend only on what the tests executed, and a developer's
# history is left alone. Set at import time, before any kernel (or unittest class) starts;
# kernels inherit it. An explicitly set STRATA_HISTORY_FILE is respected.
if "STRATA_HISTORY_FILE" not in os.environ:
    _history_dir = tempfile.mkdtemp(prefix="strata-test-history-")
    atexit.register(shutil.rmtree, _history_dir, ignore_errors=True)
    os.environ["STRATA_HISTORY_FILE"] = str(Path(_history_dir) / "history.jsonl")

# Tests that need a progress bar set the delay themselves (or run a computation slow by
# construction); one exported in the developer's shell would change what every kernel draws.
os.environ.pop("STRATA_PROGRESS_AFTER", None)


ROOT = Path(__file__).resolve().parent.parent


def cargo_example(name: str) -> Path:
    """Builds the workspace's examples (release) if needed and returns NAME's binary.

    All of them, with the workspace's features, as `cargo test --release --workspace` builds
    them: after the test command's cargo test this is a no-op, where `-p strata --example
    NAME` would resolve features differently and recompile the runtime (minutes in CI)."""
    import subprocess

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet", "--workspace", "--examples"], cwd=ROOT, check=True)
    return target / "release" / "examples" / name


@pytest.fixture(scope="session", autouse=True)
def strata_kernelspec() -> Any:
    """Fail (not skip) every test when the kernelspec is missing: a test run that cannot
    find the kernel must not look green."""
    try:
        return KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        pytest.fail(
            f"no kernelspec {KERNEL_NAME!r} on the Jupyter path; run scripts/setup.sh "
            "(scripts/test.sh does) or `strata install --prefix .venv`",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def warm_engine_pool(strata_kernelspec: Any) -> Iterator[None]:
    """A spare engine from the start, as scripts/lab.sh has one, so that the first kernel of
    the run starts warm too; every spare is stopped at the end (kernels start their own
    spares as they go: see kernel/src/pool)."""
    import subprocess

    exe = strata_kernelspec.argv[0]
    env = {**os.environ, **strata_kernelspec.env}
    subprocess.run([exe, "pool", "start"], env=env, check=True)
    yield
    subprocess.run([exe, "pool", "stop"], env=env, check=False)


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelSession]:
    """One kernel shared by the tests of a module that leave it usable."""
    session = start_kernel()
    yield session
    session.close()


@pytest.fixture
def fresh_kernel() -> Iterator[Callable[..., KernelSession]]:
    """A factory for kernels owned by one test (for tests that kill, restart or wedge it)."""
    sessions: list[KernelSession] = []

    def make(**kwargs: Any) -> KernelSession:
        session = start_kernel(**kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
