"""A small test client for the Strata kernel, on top of jupyter_client.

Why not use BlockingKernelClient directly: the tests need every message the kernel sends,
grouped by the request that caused it, with the time it arrived, and several requests may be
in flight at once (stop_on_error, interrupts, two kernels). `KernelSession` keeps one buffer per
channel, pulls messages from the sockets only when a test waits for something, and validates
every message against the message-spec schemas that jupyter_kernel_test ships.
"""
from __future__ import annotations

import datetime
import os
import queue
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from jupyter_client.manager import KernelManager
from jupyter_kernel_test.msgspec_v5 import (
    msg_structure_validator,
    schema_fragments,
    validate_message,
)

KERNEL_NAME = os.environ.get("STRATA_KERNEL_NAME", "strata")
# A fresh kernel's first cell can compile for a while on a cold cache; the conformance suite
# holds the kernel to 15 s, these end-to-end tests only guard against hangs.
STARTUP_TIMEOUT = 120.0
CELL_TIMEOUT = 180.0

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Tracebacks may be coloured; tests search the plain text."""
    return _ANSI.sub("", text)


def check_message(msg: dict[str, Any]) -> None:
    """Validate against jupyter_kernel_test's v5 schemas where it has one for the type.

    'aborted' replies and comm messages have no schema there, and its input_request schema
    wants a number for `password` where the spec has a boolean, so for those only the envelope
    is checked.
    """
    msg_type = msg["header"]["msg_type"]
    if (msg_type not in schema_fragments or msg_type == "input_request"
            or msg["content"].get("status") == "aborted"):
        msg_structure_validator.validate(msg)
    else:
        validate_message(msg)


@dataclass
class Received:
    """One message and the monotonic time at which the test pulled it off its socket."""

    msg: dict[str, Any]
    at: float

    @property
    def msg_type(self) -> str:
        return self.msg["header"]["msg_type"]

    @property
    def parent_id(self) -> str | None:
        return (self.msg.get("parent_header") or {}).get("msg_id")

    @property
    def content(self) -> dict[str, Any]:
        return self.msg["content"]


@dataclass
class CellRun:
    """Everything one execute_request produced."""

    code: str
    msg_id: str
    reply: dict[str, Any]
    iopub: list[Received]  # busy ... idle inclusive, in arrival order
    sent_at: float

    @property
    def status(self) -> str:
        return self.reply["content"]["status"]

    @property
    def outputs(self) -> list[Received]:
        """iopub messages between busy and idle, without execute_input."""
        return [r for r in self.iopub if r.msg_type not in ("status", "execute_input")]

    def of_type(self, msg_type: str) -> list[Received]:
        return [r for r in self.iopub if r.msg_type == msg_type]

    def stream(self, name: str = "stdout") -> str:
        return "".join(
            r.content["text"] for r in self.of_type("stream") if r.content["name"] == name
        )

    @property
    def result(self) -> dict[str, Any] | None:
        """The execute_result's data bundle, if there is one."""
        results = self.of_type("execute_result")
        assert len(results) <= 1, f"more than one execute_result: {results}"
        return results[0].content["data"] if results else None

    @property
    def error_text(self) -> str:
        """ename, evalue and traceback of the reply and of iopub `error`, ANSI stripped."""
        parts: list[str] = []
        for content in [self.reply["content"]] + [r.content for r in self.of_type("error")]:
            parts.append(str(content.get("ename", "")))
            parts.append(str(content.get("evalue", "")))
            parts.extend(str(line) for line in content.get("traceback", []))
        return strip_ansi("\n".join(parts))

    def describe(self) -> str:
        lines = [f"cell {self.code!r}: reply {self.reply['content']}"]
        lines += [f"  iopub {r.msg_type}: {r.content}" for r in self.iopub]
        return "\n".join(lines)


@dataclass
class KernelSession:
    """A running kernel, its client, and buffers of everything received so far."""

    km: KernelManager
    kc: Any  # BlockingKernelClient
    buffers: dict[str, list[Received]] = field(
        default_factory=lambda: {"shell": [], "iopub": [], "control": [], "stdin": []}
    )
    _engine_pid: int | None = None

    def engine_pid(self) -> int:
        """The process that runs this kernel's engine (and is the parent of its cell process):
        the one Jupyter launched when the kernel started cold, a spare engine when one served it
        (kernel/src/pool). Asked once, with a cell: call it while the kernel is idle."""
        if self._engine_pid is None:
            run = self.run_ok("std::process::id()")
            cell = int(text_plain(run.result) or "0")
            with open(f"/proc/{cell}/stat") as f:
                self._engine_pid = int(f.read().rsplit(")", 1)[1].split()[1])
        return self._engine_pid

    # -- receiving ---------------------------------------------------------------------------

    def _channel(self, name: str) -> Any:
        return getattr(self.kc, f"{name}_channel")

    def pump(self, channel: str, timeout: float) -> Received | None:
        """Pull one message from `channel`, validate and buffer it; None on timeout."""
        try:
            msg = self._channel(channel).get_msg(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        received = Received(msg, time.monotonic())
        # Answers to requests of other clients (e.g. a test's raw socket sending deliberately
        # broken content) are not this client's to judge; everything addressed to us is.
        if (msg.get("parent_header") or {}).get("session") in (None, self.kc.session.session):
            check_message(msg)
        self.buffers[channel].append(received)
        return received

    def wait_for(
        self,
        channel: str,
        predicate: Callable[[Received], bool],
        timeout: float,
        what: str = "message",
    ) -> Received:
        """First buffered-or-arriving message on `channel` that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            buf = self.buffers[channel]
            for r in buf[seen:]:
                if predicate(r):
                    return r
            seen = len(buf)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} on {channel} within {timeout:.0f} s")
            self.pump(channel, min(remaining, 1.0))

    def reply(self, msg_id: str, channel: str = "shell", timeout: float = CELL_TIMEOUT) -> dict:
        r = self.wait_for(
            channel, lambda r: r.parent_id == msg_id and r.msg_type.endswith("_reply"),
            timeout, what=f"reply to {msg_id}",
        )
        return r.msg

    def iopub_until_idle(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> list[Received]:
        """All iopub messages with this parent, up to and including its `idle`."""
        self.wait_for(
            "iopub",
            lambda r: r.parent_id == msg_id
            and r.msg_type == "status"
            and r.content["execution_state"] == "idle",
            timeout,
            what=f"idle for {msg_id}",
        )
        return [r for r in self.buffers["iopub"] if r.parent_id == msg_id]

    def drain(self, seconds: float) -> None:
        """Receive whatever arrives on shell and iopub within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump("iopub", 0.05)
            self.pump("shell", 0.0)

    # -- requests ----------------------------------------------------------------------------

    def send(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        msg = self.kc.session.msg(msg_type, content)
        self._channel(channel).send(msg)
        return msg["header"]["msg_id"]

    def request(
        self, msg_type: str, content: dict[str, Any] | None = None, channel: str = "shell",
        timeout: float = 60.0,
    ) -> tuple[dict[str, Any], list[Received]]:
        """Send a request, return its reply and its iopub messages (busy ... idle)."""
        msg_id = self.send(channel, msg_type, content or {})
        reply = self.reply(msg_id, channel, timeout)
        return reply, self.iopub_until_idle(msg_id, timeout)

    def submit(self, code: str, **kwargs: Any) -> tuple[str, float]:
        """Send an execute_request without waiting; returns (msg_id, monotonic send time)."""
        sent_at = time.monotonic()
        return self.kc.execute(code, **kwargs), sent_at

    def finish(self, code: str, msg_id: str, sent_at: float,
               timeout: float = CELL_TIMEOUT) -> CellRun:
        """Collect iopub first (so arrival times are real), then the reply."""
        iopub = self.iopub_until_idle(msg_id, timeout)
        reply = self.reply(msg_id, "shell", timeout=30.0)
        return CellRun(code, msg_id, reply, iopub, sent_at)

    def run(self, code: str, timeout: float = CELL_TIMEOUT, **kwargs: Any) -> CellRun:
        msg_id, sent_at = self.submit(code, **kwargs)
        return self.finish(code, msg_id, sent_at, timeout)

    def run_ok(self, code: str, timeout: float = CELL_TIMEOUT, **kwargs: Any) -> CellRun:
        run = self.run(code, timeout, **kwargs)
        assert run.status == "ok", run.describe()
        return run

    def interrupt(self, timeout: float = 10.0) -> dict[str, Any]:
        """interrupt_request on control (what jupyter_client sends for interrupt_mode
        'message'), returning its reply, which must come while shell is busy."""
        msg_id = self.send("control", "interrupt_request", {})
        return self.reply(msg_id, "control", timeout)

    def heartbeat_ok(self, timeout: float = 30.0) -> bool:
        """One echo on the heartbeat socket, independent of shell."""
        import zmq

        info = self.km.get_connection_info()
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"{info['transport']}://{info['ip']}:{info['hb_port']}")
        try:
            payload = uuid.uuid4().bytes
            sock.send(payload)
            if sock.poll(int(timeout * 1000)):
                return sock.recv() == payload
            return False
        finally:
            sock.close()

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)


def start_kernel(km: KernelManager | None = None, **start_kwargs: Any) -> KernelSession:
    """Start a kernel (a new KernelManager unless one is given) and wait for kernel_info."""
    km = km or KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(**start_kwargs)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
    except Exception:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return KernelSession(km, kc)


def text_plain(bundle: dict[str, Any] | None) -> str | None:
    return None if bundle is None else bundle.get("text/plain")


def all_text(received: Iterable[Received]) -> str:
    """Every string in the content of these messages, for 'does it mention X' checks."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for r in received:
        walk(r.content)
    return strip_ansi("\n".join(out))


def is_datetime(value: Any) -> bool:
    """jupyter_client turns an ISO 8601 `date` into a datetime; anything else stays a str."""
    return isinstance(value, datetime.datetime)
