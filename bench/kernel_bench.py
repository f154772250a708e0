#!/usr/bin/env python3
"""Kernel latency benchmark: Strata next to evcxr_jupyter and ipykernel, in one run.

For each kernel it measures, as a Jupyter client sees them:
  * start -> kernel_info reply: from launching the process to the first kernel_info_reply;
  * start -> first cell result: from launching the process to the first cell's reply + idle;
  * first cell after start: `1 + 1` in the fresh kernel, from send to execute_reply + idle;
  * first cell using the Strata crates: a fresh kernel whose first cell touches the runtime
    and display crates. Strata has them preloaded; evcxr_jupyter loads the same crates with
    `:dep strata = { path = ... }` and `:dep strata-display = { path = ... }`; ipykernel: n/a;
  * the first `let` of a fresh kernel (evcxr asks rust-analyzer for the variable's type, and
    rust-analyzer analyses the crate graph cells compile against the first time);
  * `1 + 1` round trip p50 / p95 over --cells cells (after the first);
  * a typical notebook cell, p50 of 5 after a first: open the tutorial SST, select a box,
    reduce it to a number (Strata, and evcxr_jupyter with the same crates).
Strata runs twice: warm (a spare engine is ready when each kernel starts, as after
`strata pool start`; see kernel/src/pool) and cold (STRATA_POOL=off: the kernel starts its
own engine). The warm spare's memory (engine and cell process RSS) is printed too.
Ratios are other / Strata warm (above 1 means Strata is faster).

This is a benchmark, not a test: it prints figures and exits 0 unless it cannot run at all.
Run it after scripts/setup.sh, with the project's venv:

    .venv/bin/python bench/kernel_bench.py [--cells 50] [--skip-evcxr] [--json out.json]

evcxr_jupyter is used when it is on PATH or in ~/.cargo/bin (install: cargo install
evcxr_jupyter); a temporary kernelspec is written for it, so `evcxr_jupyter --install` is not
needed.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_JUPYTER = REPO / ".venv" / "share" / "jupyter"

TRIVIAL = "1 + 1"
# Touches both crates, so a kernel that has not loaded them must compile them first.
CRATES_CELL = (
    "let _tasks = strata::exec::map_tasks(2, |i| i);\n"
    'let _html = Html("<b>bench</b>");\n'
    "1 + 1"
)
FIRST_LET = "let bench_first = 1 + 1;"
TYPICAL = (
    'strata::io::tutorial::open_dataset("sst")?.var("sst")?'
    '.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["time", "lat", "lon"])?.item()?'
)
EVCXR_DEPS = (
    f':dep strata = {{ path = "{REPO / "runtime"}" }}\n'
    f':dep strata-display = {{ path = "{REPO / "display"}" }}\n'
    "use strata::prelude::*;\n"
    "use strata_display::prelude::*;\n"
)


@dataclass
class Figures:
    label: str
    start_s: float | None = None
    start_to_first_s: float | None = None
    first_cell_s: float | None = None
    crates_first_cell_s: float | None = None
    first_let_s: float | None = None
    p50_s: float | None = None
    p95_s: float | None = None
    typical_p50_s: float | None = None
    notes: list[str] = field(default_factory=list)


class Kernel:
    """A kernel started by jupyter_client, timed from the moment its process is launched."""

    def __init__(self, kernel_name: str, timeout: float, env: dict[str, str] | None = None) -> None:
        from jupyter_client.manager import KernelManager

        self.timeout = timeout
        self.km = KernelManager(kernel_name=kernel_name)
        self.t0 = t0 = time.perf_counter()
        self.km.start_kernel(**({"env": env} if env is not None else {}))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            msg_id = self.kc.kernel_info()
            self._wait("shell", msg_id, "kernel_info_reply")
            self.start_s = time.perf_counter() - t0
            # iopub subscribed before the first cell (not part of the start figure).
            self.kc.wait_for_ready(timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _wait(self, channel: str, msg_id: str, msg_type: str | None = None,
              state: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        chan = getattr(self.kc, f"{channel}_channel")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {msg_type or state} within {self.timeout:.0f} s")
            try:
                msg = chan.get_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    raise RuntimeError("kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg_type and msg["msg_type"] == msg_type:
                return msg
            if state and msg["msg_type"] == "status" and msg["content"]["execution_state"] == state:
                return msg

    def cell(self, code: str) -> tuple[float, str]:
        """Seconds from execute_request to both execute_reply and idle, and the status."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        reply = self._wait("shell", msg_id, "execute_reply")
        self._wait("iopub", msg_id, state="idle")
        elapsed = time.perf_counter() - t0
        content = reply["content"]
        if content["status"] != "ok":
            detail = f"{content.get('ename', '')}: {content.get('evalue', '')}".strip()
            return elapsed, f"{content['status']} ({detail[:200]})"
        return elapsed, "ok"

    def repeat(self, code: str, times: int, what: str, notes: list[str]) -> list[float]:
        """Seconds of each of `times` runs of `code`, stopping (with a note) at a failure."""
        seconds = []
        for _ in range(times):
            elapsed, status = self.cell(code)
            if status != "ok":
                notes.append(f"{what}: {status}")
                break
            seconds.append(elapsed)
        return seconds

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    lo, hi = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def measure(label: str, kernel_name: str, cells: int, timeout: float,
            first_code: str = TRIVIAL, crates_code: str | None = None,
            first_let: str | None = None, typical: str | None = None,
            env: dict[str, str] | None = None, before_start: Any = None) -> Figures:
    fig = Figures(label)
    print(f"--- {label} ({kernel_name})", flush=True)
    try:
        if before_start:
            before_start()
        k = Kernel(kernel_name, timeout, env)
        try:
            fig.start_s = k.start_s
            fig.first_cell_s, status = k.cell(first_code)
            fig.start_to_first_s = time.perf_counter() - k.t0
            if status != "ok":
                fig.notes.append(f"first cell: {status}")
            if first_let is not None:
                fig.first_let_s, status = k.cell(first_let)
                if status != "ok":
                    fig.notes.append(f"first let: {status}")
            times = k.repeat(TRIVIAL, cells, "trivial cell", fig.notes)
            if times:
                fig.p50_s = statistics.median(times)
                fig.p95_s = percentile(times, 0.95)
        finally:
            k.close()
        if crates_code is not None:
            if before_start:
                before_start()
            k = Kernel(kernel_name, timeout, env)
            try:
                fig.crates_first_cell_s, status = k.cell(crates_code)
                if status != "ok":
                    fig.notes.append(f"crates cell: {status}")
                if typical is not None:
                    k.cell(typical)  # the tutorial file generated, the page cache warm
                    times = k.repeat(typical, 5, "typical cell", fig.notes)
                    if times:
                        fig.typical_p50_s = statistics.median(times)
            finally:
                k.close()
    except Exception as exc:  # a benchmark reports what it could measure
        fig.notes.append(f"{type(exc).__name__}: {exc}")
    print(f"    {asdict(fig)}", flush=True)
    return fig


def find_evcxr(explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).is_file() else None
    found = shutil.which("evcxr_jupyter")
    cargo_bin = Path.home() / ".cargo" / "bin" / "evcxr_jupyter"
    return found or (str(cargo_bin) if cargo_bin.is_file() else None)


def evcxr_kernelspec(binary: str, root: Path) -> str:
    """A throwaway kernelspec for evcxr_jupyter, found through JUPYTER_PATH."""
    name = "evcxr-bench"
    spec_dir = root / "share" / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [binary, "--control_file", "{connection_file}"],
        "display_name": "Rust (evcxr, benchmark)",
        "language": "rust",
        "interrupt_mode": "message",
    }))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(root / "share" / "jupyter")] + [p for p in [os.environ.get("JUPYTER_PATH")] if p]
    )
    return name


def fmt(value: float | None, base: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1:
        text = f"{value * 1000:.1f} ms"
    else:
        text = f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    if base and base > 0:
        text += f" ({value / base:.3g}x)"
    return text


def print_table(results: list[Figures]) -> None:
    rows = [
        ("start -> kernel_info reply", "start_s"),
        ("start -> first cell result", "start_to_first_s"),
        ("first cell after start", "first_cell_s"),
        ("first cell using strata crates", "crates_first_cell_s"),
        ("first let in a fresh kernel", "first_let_s"),
        (f"{TRIVIAL} round trip p50", "p50_s"),
        (f"{TRIVIAL} round trip p95", "p95_s"),
        ("open, select, reduce cell p50", "typical_p50_s"),
    ]
    strata = results[0]
    width = [34] + [max(26, len(r.label) + 2) for r in results]
    header = "".ljust(width[0]) + "".join(r.label.ljust(w) for r, w in zip(results, width[1:]))
    print("\n" + header)
    print("-" * len(header))
    for title, attr in rows:
        base = getattr(strata, attr)
        cells = [fmt(getattr(r, attr), None if r is strata else base) for r in results]
        print(title.ljust(width[0]) + "".join(c.ljust(w) for c, w in zip(cells, width[1:])))
    print("\n(x) = that kernel's time / Strata warm's time; above 1 means Strata is faster.")
    for r in results:
        for note in r.notes:
            print(f"note, {r.label}: {note}")


def strata_binary(kernel_name: str) -> tuple[str, dict[str, str]]:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    return spec.argv[0], {**os.environ, **spec.env}


def spare_ready(kernel_name: str) -> None:
    """Starts the build's spare engine if none runs and waits until it is warm."""
    import subprocess

    exe, env = strata_binary(kernel_name)
    subprocess.run([exe, "pool", "start", "--wait"], env=env, check=True, capture_output=True)


def stop_spares(kernel_name: str) -> None:
    """No spare warming in the background while cold starts are timed."""
    import subprocess

    exe, env = strata_binary(kernel_name)
    subprocess.run([exe, "pool", "stop"], env=env, check=True, capture_output=True)


def spare_memory(kernel_name: str) -> str:
    """RSS of the ready spare engine and of its cell process."""
    import subprocess

    spare_ready(kernel_name)
    exe, env = strata_binary(kernel_name)
    status = subprocess.run([exe, "pool", "status"], env=env, capture_output=True, text=True).stdout
    pid = int(status.split("pid")[1].split()[0])

    def rss_mib(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    # Children of any of the engine's threads (evcxr starts the cell process from its own).
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    cell = sum(rss_mib(c) for c in children)
    return f"a ready spare engine holds {rss_mib(pid):.0f} MiB (engine) + {cell:.0f} MiB (cell process)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=50, help="trivial cells for p50/p95")
    ap.add_argument("--kernel-name", default="strata")
    ap.add_argument("--evcxr", help="path to evcxr_jupyter (default: PATH, ~/.cargo/bin)")
    ap.add_argument("--skip-evcxr", action="store_true")
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds allowed for any one reply (evcxr's :dep cell is slow)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    if VENV_JUPYTER.is_dir():  # the project's kernelspec first, as scripts/test.sh does
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(VENV_JUPYTER)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p]
        )

    results = [measure("Strata warm", args.kernel_name, args.cells, args.timeout,
                       crates_code=CRATES_CELL, first_let=FIRST_LET, typical=TYPICAL,
                       before_start=lambda: spare_ready(args.kernel_name)),
               measure("Strata cold", args.kernel_name, args.cells, args.timeout,
                       crates_code=CRATES_CELL, first_let=FIRST_LET, typical=TYPICAL,
                       env={**os.environ, "STRATA_POOL": "off"},
                       before_start=lambda: stop_spares(args.kernel_name))]
    try:
        results[0].notes.append(spare_memory(args.kernel_name))
    except Exception as exc:  # a benchmark reports what it could measure
        results[0].notes.append(f"spare memory: {type(exc).__name__}: {exc}")

    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        evcxr = None if args.skip_evcxr else find_evcxr(args.evcxr)
        if evcxr:
            name = evcxr_kernelspec(evcxr, Path(tmp))
            results.append(measure("evcxr_jupyter", name, args.cells, args.timeout,
                                   crates_code=EVCXR_DEPS + CRATES_CELL, first_let=FIRST_LET, typical=TYPICAL))
        elif not args.skip_evcxr:
            print("--- evcxr_jupyter: skipped, no evcxr_jupyter binary on PATH or in "
                  "~/.cargo/bin (install it with: cargo install evcxr_jupyter)", flush=True)

        if not args.skip_python:
            results.append(measure("ipykernel", "python3", args.cells, args.timeout,
                                   first_let="bench_first = 1 + 1"))

    print_table(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
