"""Warm kernels: a spare engine, warmed before anyone asks, serves a new kernel (kernel/src/pool).

What must hold, as Jupyter clients see it: a pooled kernel is indistinguishable from a fresh
one (directory, environment, variables, `:dep`); several kernels at once each get their own
engine; killing the kernel process (as Jupyter's `now=True` shutdown does) leaves no process
behind; a spare of another build is never used; a kernel the spare cannot serve starts cold and
says why; junk on the spare's socket does not take the spare down. How fast a pooled kernel
starts is measured in bench/kernel_bench.py, not asserted here.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from strata_client import KERNEL_NAME, KernelSession, start_kernel

pytestmark = pytest.mark.timeout(600)

# Prints the cell process's pid, directory and whole environment, one line each.
PROBE = (
    'println!("PROBE_PID {}", std::process::id());\n'
    'println!("PROBE_CWD {}", std::env::current_dir().unwrap().display());\n'
    'for (k, v) in std::env::vars_os() { println!("PROBE_ENV {:?}={:?}", k, v); }'
)


def strata(spec: Any, *args: str, timeout: float = 900) -> str:
    """Runs the installed strata binary (the kernelspec's) with the kernelspec's environment."""
    done = subprocess.run([spec.argv[0], *args], env={**os.environ, **spec.env}, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"strata {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def spare_ready(spec: Any) -> int:
    """Starts this build's spare if none runs, waits until it is warm, and returns its pid."""
    out = strata(spec, "pool", "start", "--wait")
    # "spare engine: pid N ready"
    return int(out.split("pid")[1].split()[0])


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(parent_of(int(entry.name)), []).append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def probe(ks: KernelSession) -> dict[str, Any]:
    """The cell process's pid, directory and environment (lines `"NAME"="value"`, escaped)."""
    lines = ks.run_ok(PROBE).stream("stdout").splitlines()
    return {
        "pid": int(next(l for l in lines if l.startswith("PROBE_PID ")).split()[1]),
        "cwd": next(l for l in lines if l.startswith("PROBE_CWD "))[len("PROBE_CWD "):],
        "env": sorted(l[len("PROBE_ENV "):] for l in lines if l.startswith("PROBE_ENV ")),
    }


def spare_processes(spec: Any) -> list[int]:
    """Running `strata pool serve` processes of this binary."""
    exe = os.path.realpath(spec.argv[0])
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if os.path.realpath(argv[0].decode()) == exe and argv[1:3] == [b"pool", b"serve"] and alive(int(entry.name)):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
            pass
    return found


@pytest.fixture
def spec(strata_kernelspec: Any) -> Any:
    return strata_kernelspec


def test_a_pooled_kernel_is_indistinguishable_from_a_fresh_one(spec: Any, tmp_path: Path, fresh_kernel: Any) -> None:
    """Same working directory, same environment (every variable), variables and `:dep` work,
    in a kernel a spare served and in one started cold with the pool turned off."""
    notebook_dir = tmp_path / "notebooks here"
    notebook_dir.mkdir()
    dep = tmp_path / "probe_dep"
    (dep / "src").mkdir(parents=True)
    (dep / "Cargo.toml").write_text('[package]\nname = "probe_dep"\nversion = "0.1.0"\nedition = "2021"\n')
    (dep / "src" / "lib.rs").write_text("pub fn answer() -> u32 { 42 }\n")
    env = {**os.environ, "STRATA_EQUIVALENCE_PROBE": "a value with spaces = and é"}
    spare = spare_ready(spec)

    pooled = fresh_kernel(cwd=str(notebook_dir), env=env)
    cold = fresh_kernel(cwd=str(notebook_dir), env={**env, "STRATA_POOL": "off"})
    seen = {}
    for name, ks in (("pooled", pooled), ("cold", cold)):
        launcher = ks.km.provisioner.process.pid
        p = probe(ks)
        engine = parent_of(p["pid"])
        if name == "pooled":
            assert engine == spare and engine != launcher, "the pooled kernel did not run in the spare"
        else:
            assert engine == launcher, "the kernel with STRATA_POOL=off did not start cold"
        ks.run_ok("let kept: Vec<u32> = vec![1, 2, 3];")
        assert ks.run_ok("kept.len()").result["text/plain"] == "3"
        ks.run_ok(f":dep probe_dep = {{ path = {json.dumps(str(dep))} }}")
        assert ks.run_ok("probe_dep::answer() + kept[2]").result["text/plain"] == "45"
        # Set per kernel whatever its start: which compile slot it took, and where the cell
        # process's flush function was loaded.
        p["env"] = [re.sub(r"/slot-\d+", "/slot-N", v) for v in p["env"]
                    if not v.startswith(('"STRATA_POOL"=', '"STRATA_CELL_FLUSH_FN"='))]
        seen[name] = p
    assert seen["pooled"]["cwd"] == seen["cold"]["cwd"] == str(notebook_dir)
    assert f'"STRATA_EQUIVALENCE_PROBE"={json.dumps(env["STRATA_EQUIVALENCE_PROBE"], ensure_ascii=False)}' in seen["pooled"]["env"]
    assert seen["pooled"]["env"] == seen["cold"]["env"]


def test_three_kernels_at_once_each_get_their_own_engine_and_one_spare_remains(spec: Any) -> None:
    spare_ready(spec)

    def one(n: int) -> tuple[int, int, str]:
        ks = start_kernel()
        try:
            ks.run_ok(f"let me = {n};")
            engine = ks.engine_pid()
            return n, engine, ks.run_ok("me * 10").result["text/plain"]
        finally:
            ks.close()

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(one, range(3)))
    assert [r[2] for r in results] == ["0", "10", "20"]
    assert len({r[1] for r in results}) == 3, f"kernels shared an engine: {results}"
    # Each took a spare and asked for the next: still one spare, not one per past kernel.
    deadline = time.monotonic() + 30
    while len(spare_processes(spec)) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(spare_processes(spec)) <= 1, spare_processes(spec)


def test_killing_a_pooled_kernel_leaves_no_process_behind(spec: Any) -> None:
    """SIGKILL to the kernel process (what Jupyter's now=True shutdown does, and what the OOM
    killer does) while a cell runs: the engine, its cell process and anything they started end."""
    spare_ready(spec)
    km = KernelManager(kernel_name=KERNEL_NAME)
    ks = start_kernel(km=km)
    launcher = km.provisioner.process.pid
    cell = probe(ks)["pid"]
    engine = parent_of(cell)
    assert engine != launcher
    msg_id, _ = ks.submit('println!("sleeping"); std::thread::sleep(std::time::Duration::from_secs(600));')
    # The cell runs (it printed) before the tree is taken and the kernel process killed.
    ks.wait_for("iopub", lambda r: r.parent_id == msg_id and r.msg_type == "stream"
                and "sleeping" in r.content.get("text", ""), timeout=120, what="the cell's output")
    tree = [engine, *descendants(engine)]
    assert cell in tree
    os.kill(launcher, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    ks.kc.stop_channels()
    km.cleanup_resources()
    assert not [p for p in tree if alive(p)], f"left running: {[p for p in tree if alive(p)]}"


def test_a_spare_from_an_older_build_is_not_used(spec: Any) -> None:
    """Rebuilding the binary (here: a new modification time) makes it another build: the
    running spare is not handed kernels, and it exits."""
    old_spare = spare_ready(spec)
    exe = Path(os.path.realpath(spec.argv[0]))
    before = exe.stat()
    try:
        os.utime(exe, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        ks = start_kernel()
        try:
            engine = ks.engine_pid()
        finally:
            ks.close()
        assert engine != old_spare, "a kernel of the new build was served by the old build's spare"
        deadline = time.monotonic() + 30
        while alive(old_spare) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(old_spare), "the old build's spare kept running"
    finally:
        os.utime(exe, ns=(before.st_atime_ns, before.st_mtime_ns))
        strata(spec, "pool", "stop")


def test_a_kernel_the_spare_cannot_serve_starts_cold_and_says_why(spec: Any, tmp_path: Path) -> None:
    """A cargo setting in the kernel's environment that the spare was not started with: the
    spare refuses, the kernel starts cold in its own process and logs the variable's name."""
    spare = spare_ready(spec)
    log_path = tmp_path / "kernel.log"
    km = KernelManager(kernel_name=KERNEL_NAME)
    with open(log_path, "wb") as log:
        ks = start_kernel(km=km, env={**os.environ, "CARGO_TERM_COLOR": "never"}, stdout=log, stderr=log)
    try:
        engine = ks.engine_pid()
        assert engine == km.provisioner.process.pid, "the kernel did not start cold"
        assert ks.run_ok("6 * 7").result["text/plain"] == "42"
    finally:
        ks.close()
    text = log_path.read_text()
    assert "starting cold" in text and "CARGO_TERM_COLOR" in text, text
    assert alive(spare), "the spare should still wait for a kernel it can serve"


def test_junk_on_the_spares_socket_does_not_take_it_down(spec: Any, tmp_path: Path) -> None:
    spare = spare_ready(spec)
    sock_dir = Path(strata(spec, "pool", "status").rsplit("(", 1)[1].rstrip(")\n"))
    for junk in (b"GET / HTTP/1.1\r\n\r\n", b"H" + (2**31).to_bytes(4, "little"), b"H\x05\x00\x00\x00{not}"):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock_dir / "spare.sock"))
            s.sendall(junk)
            s.settimeout(10)
            try:
                s.recv(16)
            except (socket.timeout, ConnectionResetError):
                pass
    assert alive(spare)
    ks = start_kernel()
    try:
        assert ks.engine_pid() == spare, "the spare did not serve the next kernel"
    finally:
        ks.close()
