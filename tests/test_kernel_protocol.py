"""The Strata kernel driven over ZeroMQ as a Jupyter client would drive it.

Each test checks one promise of the messaging protocol (5.4) or of the kernel's contract and
fails if that promise breaks. Tests that leave the kernel usable share one module-scoped kernel
(`kernel`); tests that kill, restart, wedge or attack a kernel start their own
(`fresh_kernel`). Every received message is also validated against jupyter_kernel_test's
schemas by strata_client.KernelSession.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

from strata_client import (
    KERNEL_NAME,
    KernelSession,
    Received,
    all_text,
    is_datetime,
    start_kernel,
    strip_ansi,
    text_plain,
)

pytestmark = pytest.mark.timeout(180)

DELIM = b"<IDS|MSG>"
# 100,000 tasks of 20 ms: half an hour on two cores, and still tens of seconds on a hundred.
# The first task to start prints "map-started", so a test that waits for it knows the
# computation (not the compile) is under way.
LONG_MAP_TASKS = (
    "let started = std::sync::Once::new();\n"
    "let v = strata::exec::map_tasks(100_000, |_| {\n"
    '    started.call_once(|| println!("map-started"));\n'
    "    std::thread::sleep(std::time::Duration::from_millis(20))\n"
    "})?;"
)


def token() -> str:
    """A fresh identifier, so history and variables from earlier runs never collide."""
    return uuid.uuid4().hex[:10]


# -- kernelspec and kernel_info ------------------------------------------------------------------


def test_kernelspec_matches_contract(strata_kernelspec: Any) -> None:
    """What JupyterLab's launcher and jupyter_client read before starting the kernel."""
    spec = strata_kernelspec
    assert spec.display_name == "Rust (Strata)"
    assert spec.language == "rust"
    assert spec.interrupt_mode == "message"
    assert "{connection_file}" in spec.argv
    assert Path(spec.argv[0]).name == "strata" and Path(spec.argv[0]).is_absolute(), spec.argv
    resources = set(p.name for p in Path(spec.resource_dir).iterdir())
    assert {"logo-32x32.png", "logo-64x64.png"} <= resources, resources


def test_kernel_info_is_complete(kernel: KernelSession) -> None:
    reply, iopub = kernel.request("kernel_info_request")
    content = reply["content"]
    assert content["status"] == "ok"
    major, minor = (int(x) for x in content["protocol_version"].split(".")[:2])
    assert (major, minor) >= (5, 3), content["protocol_version"]
    assert content["implementation"] and content["implementation_version"]
    info = content["language_info"]
    assert info["name"] == "rust"
    assert info["mimetype"] == "text/rust"
    assert info["file_extension"] == ".rs"
    assert info["pygments_lexer"] == "rust"
    mode = info["codemirror_mode"]
    assert mode == "rust" or (isinstance(mode, dict) and mode.get("name") == "rust"), mode
    assert isinstance(info["version"], str) and info["version"][:1].isdigit(), info
    assert isinstance(content["banner"], str) and content["banner"].strip()
    links = content["help_links"]
    assert links and all(l["text"] and l["url"].startswith("http") for l in links), links
    assert [r.content["execution_state"] for r in iopub] == ["busy", "idle"]


# -- start-up, counter, busy/idle ----------------------------------------------------------------


def test_starting_then_counter_from_one(tmp_path: Path) -> None:
    """`starting` is published once at start-up; execution_count starts at 1.

    An iopub SUB socket is connected to the kernel's port before the kernel is launched, so
    it joins as soon as the kernel binds. ZeroMQ PUB drops what it sends before a subscriber
    has finished joining, so `starting` can still be missed; then that part is skipped, but
    a `starting` seen twice, or after the first `busy`, fails.
    """
    km = KernelManager(kernel_name=KERNEL_NAME, cache_ports=False)
    km.connection_file = str(tmp_path / "kernel-starting.json")
    km.write_connection_file()
    info = km.get_connection_info()
    session = Session(key=info["key"], signature_scheme=info["signature_scheme"])
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RECONNECT_IVL, 5)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"{info['transport']}://{info['ip']}:{info['iopub_port']}")

    ks = start_kernel(km=km)
    try:
        first = ks.run_ok("1 + 1")
        states: list[str] = []
        while sub.poll(500):
            _, frames = session.feed_identities(sub.recv_multipart())
            msg = session.deserialize(frames)
            if msg["header"]["msg_type"] == "status":
                states.append(msg["content"]["execution_state"])
        assert states, "the pre-connected subscriber received nothing at all"
        assert states.count("starting") <= 1, states
        if "starting" in states:
            assert states.index("starting") < states.index("busy"), states

        assert first.reply["content"]["execution_count"] == 1
        [inp] = first.of_type("execute_input")
        assert inp.content["execution_count"] == 1
        [res] = first.of_type("execute_result")
        assert res.content["execution_count"] == 1
        assert ks.run_ok("2 + 2").reply["content"]["execution_count"] == 2
        if "starting" not in states:
            pytest.skip("`starting` was published before the subscription reached the kernel "
                        "(ZeroMQ slow joiner); counter checks passed")
    finally:
        sub.close()
        ks.close()


def test_silent_execution_is_silent_and_not_counted(kernel: KernelSession) -> None:
    before = kernel.run_ok("1").reply["content"]["execution_count"]
    silent = kernel.run_ok('println!("silent-probe"); 5 + 5', silent=True)
    kinds = [r.msg_type for r in silent.iopub]
    assert kinds == ["status", "status"], silent.describe()  # busy, idle and nothing else
    after = kernel.run_ok("2").reply["content"]["execution_count"]
    assert after == before + 1


def test_counter_increments_and_user_expressions_is_object(kernel: KernelSession) -> None:
    a = kernel.run_ok("let ue_probe = 3;").reply["content"]["execution_count"]
    run = kernel.run_ok("ue_probe + 1", user_expressions={"double": "ue_probe * 2"})
    assert run.reply["content"]["execution_count"] == a + 1
    assert text_plain(run.result) == "4"
    ue = run.reply["content"]["user_expressions"]
    assert isinstance(ue, dict), ue
    if "double" in ue:  # evaluated: then it must be a proper result object
        assert ue["double"]["status"] in ("ok", "error"), ue
        if ue["double"]["status"] == "ok":
            assert ue["double"]["data"]["text/plain"] == "6", ue


@pytest.mark.parametrize(
    "msg_type,content",
    [
        ("kernel_info_request", {}),
        ("execute_request", {"code": 'println!("wrapped"); 6 * 7', "silent": False}),
        ("complete_request", {"code": "std::collections::HashM", "cursor_pos": 23}),
        ("inspect_request", {"code": "Vec", "cursor_pos": 3, "detail_level": 0}),
        ("is_complete_request", {"code": "fn f() {"}),
        ("history_request", {"hist_access_type": "tail", "n": 3, "output": False, "raw": True}),
        ("comm_info_request", {}),
    ],
)
def test_every_shell_request_is_wrapped_in_busy_idle(
    kernel: KernelSession, msg_type: str, content: dict[str, Any]
) -> None:
    """busy first, idle last, everything of the request in between, headers complete."""
    if msg_type == "execute_request":
        content = {"store_history": True, "user_expressions": {}, "allow_stdin": False,
                   "stop_on_error": True, **content}
    reply, iopub = kernel.request(msg_type, content, timeout=120)
    assert reply["header"]["msg_type"] == msg_type.replace("_request", "_reply")
    states = [r.content.get("execution_state") for r in iopub if r.msg_type == "status"]
    assert states == ["busy", "idle"], [r.msg_type for r in iopub]
    assert iopub[0].msg_type == "status" and iopub[-1].msg_type == "status"

    request_id = reply["parent_header"]["msg_id"]
    kernel_session = reply["header"]["session"]
    assert kernel_session and kernel_session != kernel.kc.session.session
    for msg in [reply] + [r.msg for r in iopub]:
        assert msg["parent_header"]["msg_id"] == request_id
        assert msg["header"]["session"] == kernel_session
        assert is_datetime(msg["header"]["date"]), msg["header"]
        assert msg["header"]["version"].startswith("5.")
    if msg_type == "execute_request":
        kinds = [r.msg_type for r in iopub]
        assert kinds[1] == "execute_input", kinds
        assert "stream" in kinds and "execute_result" in kinds, kinds

    # Nothing of this request may arrive after its idle.
    kernel.drain(0.5)
    late = [r for r in kernel.buffers["iopub"] if r.parent_id == request_id]
    assert len(late) == len(iopub), [r.msg_type for r in late[len(iopub):]]


# -- output ------------------------------------------------------------------------------------


def wait_for_file_cell(path: str) -> str:
    """Rust that waits (polling) until the file `path` names exists: a cell paced by the test,
    not a clock. `path` is a Rust format string, so it may name the cell's loop variables."""
    return (f'{{ let go = format!(r"{path}"); '
            "while !std::path::Path::new(&go).exists() { std::thread::sleep(std::time::Duration::from_millis(10)); } }")


def test_stdout_streams_live_and_in_order(kernel: KernelSession, tmp_path: Path) -> None:
    """Each line reaches the frontend while the cell still runs: the cell waits, after each
    line, for a file the test creates only once it has received that line."""
    code = 'for i in 0..3 { println!("tick {i}"); ' + wait_for_file_cell(f"{tmp_path}/go-{{i}}") + " }"
    msg_id, sent_at = kernel.submit(code)
    for i in range(3):
        kernel.wait_for("iopub", lambda r: r.parent_id == msg_id and f"tick {i}" in str(r.content.get("text", "")),
                        timeout=120, what=f"tick {i} while the cell runs")
        ours = [r for r in kernel.buffers["iopub"] if r.parent_id == msg_id]
        assert not any(r.msg_type == "status" and r.content["execution_state"] == "idle" for r in ours)
        (tmp_path / f"go-{i}").touch()
    run = kernel.finish(code, msg_id, sent_at)
    assert run.status == "ok" and run.stream() == "tick 0\ntick 1\ntick 2\n", run.describe()


def test_print_without_newline_is_flushed(kernel: KernelSession, tmp_path: Path) -> None:
    """`print!` without a newline reaches the frontend while the cell waits, not at its end."""
    code = 'print!("partial"); ' + wait_for_file_cell(f"{tmp_path}/go") + ' println!(" done");'
    msg_id, sent_at = kernel.submit(code)
    kernel.wait_for("iopub", lambda r: r.parent_id == msg_id and "partial" in str(r.content.get("text", "")),
                    timeout=120, what="the partial line while the cell waits")
    (tmp_path / "go").touch()
    run = kernel.finish(code, msg_id, sent_at)
    assert run.status == "ok" and run.stream() == "partial done\n", run.describe()


def test_output_without_trailing_newline_is_not_lost(kernel: KernelSession) -> None:
    """The last line of a cell's output need not end in a newline."""
    run = kernel.run_ok('print!("no-newline-at-end"); eprint!("nor-here"); 1')
    assert run.stream("stdout") == "no-newline-at-end", run.describe()
    assert run.stream("stderr") == "nor-here", run.describe()
    assert text_plain(run.result) == "1"


def test_stdout_and_stderr_are_separate_streams(kernel: KernelSession) -> None:
    run = kernel.run_ok('println!("to-out"); eprintln!("to-err");')
    assert "to-out" in run.stream("stdout") and "to-out" not in run.stream("stderr")
    assert "to-err" in run.stream("stderr") and "to-err" not in run.stream("stdout")


def test_execute_result_rich_and_plain(kernel: KernelSession) -> None:
    assert text_plain(kernel.run_ok("6 * 7").result) == "42"
    html = kernel.run_ok('Html("<p>r</p>")').result
    assert html and html["text/html"] == "<p>r</p>" and "text/plain" in html, html
    md = kernel.run_ok('Markdown("**m**")').result
    assert md and md["text/markdown"] == "**m**" and "text/plain" in md, md
    assert kernel.run_ok("let unit_probe = 1;").result is None
    # A cell ending in a unit expression shows nothing, as a Python cell ending in None.
    assert kernel.run_ok("for _ in 0..2 {}").result is None
    assert text_plain(kernel.run_ok('"quoted"').result) == '"quoted"'


def test_fmt_command_applies_to_results(fresh_kernel: Callable[..., KernelSession]) -> None:
    """`:fmt {:#?}` pretty-prints later results, and still does after the cell process is
    replaced (the kernel passes the format to each new process)."""
    ks = fresh_kernel()
    ks.run_ok(":fmt {:#?}")
    assert text_plain(ks.run_ok("(1, 2)").result) == "(\n    1,\n    2,\n)"
    run = ks.run("std::process::abort()")
    assert run.status == "error", run.describe()
    assert text_plain(ks.run_ok("(3, 4)").result) == "(\n    3,\n    4,\n)"


def test_display_update_and_clear_mid_cell(kernel: KernelSession) -> None:
    run = kernel.run_ok(
        'println!("before");\n'
        'display(&Html("<b>x</b>"));\n'
        'let h = display(&Html("<b>v1</b>"));\n'
        'h.update(&Html("<b>v2</b>"));\n'
        'for i in 0..3 { display(&Html(format!("<i>{i}</i>"))); }\n'
        "clear_output(true);\n"
        'println!("after");\n'
    )
    kinds = [r.msg_type for r in run.outputs]
    displays = run.of_type("display_data")
    htmls = [d.content["data"].get("text/html") for d in displays]
    assert htmls == ["<b>x</b>", "<b>v1</b>", "<i>0</i>", "<i>1</i>", "<i>2</i>"], htmls

    [update] = run.of_type("update_display_data")
    display_id = displays[1].content.get("transient", {}).get("display_id")
    assert display_id, displays[1].content
    assert update.content["transient"]["display_id"] == display_id
    assert update.content["data"]["text/html"] == "<b>v2</b>"
    other_ids = {d.content.get("transient", {}).get("display_id") for d in displays[2:]}
    assert display_id not in other_ids

    [clear] = run.of_type("clear_output")
    assert clear.content["wait"] is True
    # Order is the order of the code: stream, displays, update, displays, clear, stream.
    assert kinds.index("update_display_data") > kinds.index("display_data")
    assert kinds.index("clear_output") > max(i for i, k in enumerate(kinds) if k == "display_data")
    before = next(i for i, r in enumerate(run.outputs) if "before" in str(r.content.get("text")))
    after = next(i for i, r in enumerate(run.outputs) if "after" in str(r.content.get("text")))
    assert before < kinds.index("display_data") and after > kinds.index("clear_output"), kinds

    no_wait = kernel.run_ok("clear_output(false);")
    [clear] = no_wait.of_type("clear_output")
    assert clear.content["wait"] is False


# -- errors ------------------------------------------------------------------------------------

WRAPPER_NAMES = ("evcxr_variable_store", "evcxr_internal_runtime")


def points_at(text: str, line: int, column: int, source: str) -> bool:
    """True when an error names the user's line and column: either as `line:column` /
    `line N`, or as rustc-style snippet whose caret stands under that column."""
    if f"{line}:{column}" in text or f"line {line}" in text:
        return True
    rows = text.splitlines()
    for row, below in zip(rows, rows[1:]):
        if row.rstrip().endswith(source) and "^" in below:
            start = row.rstrip().rindex(source)
            if below.index("^") - start == column - 1:
                return True
    return False


def test_compile_error_points_at_user_code(kernel: KernelSession) -> None:
    run = kernel.run('let fine = 1;\nlet x: i32 = "a";')
    assert run.status == "error", run.describe()
    content = run.reply["content"]
    assert content["ename"] and isinstance(content["traceback"], list)
    text = run.error_text
    assert "mismatched types" in text, text
    for name in WRAPPER_NAMES:
        assert name not in text, f"evcxr's wrapper code leaks into the error: {name}\n{text}"
    # rustc's position of `"a"` in the user's own cell: line 2, column 14.
    assert points_at(text, 2, 14, 'let x: i32 = "a";'), text
    [error] = run.of_type("error")
    assert error.content["ename"] == content["ename"]
    assert kernel.run_ok("1 + 1").result["text/plain"] == "2"


def test_panic_reports_its_message_and_kernel_survives(kernel: KernelSession) -> None:
    run = kernel.run('panic!("boom-42");')
    assert run.status == "error", run.describe()
    content = run.reply["content"]
    assert "boom-42" in strip_ansi(content["evalue"] + "\n".join(content["traceback"]))
    assert run.of_type("error"), "no iopub error message for a panic"
    assert text_plain(kernel.run_ok("1 + 1").result) == "2"


def test_stop_on_error_aborts_queued_requests(kernel: KernelSession) -> None:
    failing = kernel.submit('panic!("stop-on-error-probe");')
    queued = [kernel.submit(f'println!("should-not-run-{i}");') for i in (1, 2)]
    runs = [kernel.finish("fail", *failing)] + [
        kernel.finish(f"queued {i}", *q) for i, q in enumerate(queued)
    ]
    assert runs[0].status == "error"
    for run in runs[1:]:
        # 'aborted' is what kernels send; 5.1+ also allows 'error' for the same meaning.
        assert run.status in ("aborted", "error"), run.describe()
        assert "should-not-run" not in run.stream(), "an aborted request ran"
        states = [r.content["execution_state"] for r in run.of_type("status")]
        assert states == ["busy", "idle"], run.describe()
    # The queue is over: the next request runs normally.
    assert text_plain(kernel.run_ok("3 * 3").result) == "9"


def test_stop_on_error_false_keeps_the_queue(kernel: KernelSession) -> None:
    failing = kernel.submit('panic!("no-stop-probe");', stop_on_error=False)
    queued = kernel.submit('println!("runs-anyway");')
    assert kernel.finish("fail", *failing).status == "error"
    run = kernel.finish("queued", *queued)
    assert run.status == "ok" and "runs-anyway" in run.stream(), run.describe()


# -- completion, inspection, is_complete ---------------------------------------------------------


def apply_completion(code: str, reply: dict[str, Any], match: str) -> str:
    c = reply["content"]
    return code[: c["cursor_start"]] + match + code[c["cursor_end"] :]


def test_complete_paths_and_variables(kernel: KernelSession) -> None:
    code = "std::collections::HashM"
    reply, _ = kernel.request("complete_request", {"code": code, "cursor_pos": len(code)})
    matches = reply["content"]["matches"]
    hits = [m for m in matches if apply_completion(code, reply, m).endswith("collections::HashMap")]
    assert hits, f"no completion turns {code!r} into ...HashMap: {reply['content']}"

    name = f"completion_probe_{token()}"
    kernel.run_ok(f"let {name} = 3;")
    code = name[:-3]
    reply, _ = kernel.request("complete_request", {"code": code, "cursor_pos": len(code)})
    assert any(apply_completion(code, reply, m) == name for m in reply["content"]["matches"]), (
        f"a variable from an earlier cell is not offered: {reply['content']}"
    )


def test_complete_variable_of_the_same_cell(kernel: KernelSession) -> None:
    code = "let abc_def = 1;\nabc_"
    reply, _ = kernel.request("complete_request", {"code": code, "cursor_pos": len(code)})
    assert any(apply_completion(code, reply, m).endswith("\nabc_def")
               for m in reply["content"]["matches"]), reply["content"]


def test_inspect_known_and_unknown_names(kernel: KernelSession) -> None:
    for code in ("Vec", "String", "let s = String::new();"):
        cursor = len(code) if code != "let s = String::new();" else code.index("String") + 3
        reply, _ = kernel.request(
            "inspect_request", {"code": code, "cursor_pos": cursor, "detail_level": 0}
        )
        c = reply["content"]
        assert c["status"] == "ok" and c["found"] is True, (code, c)
        assert c["data"]["text/plain"].strip(), (code, c)
    reply, _ = kernel.request(
        "inspect_request", {"code": "   ", "cursor_pos": 2, "detail_level": 0}
    )
    assert reply["content"]["status"] == "ok" and reply["content"]["found"] is False


def test_is_complete_statuses_and_indent(kernel: KernelSession) -> None:
    def ask(code: str) -> dict[str, Any]:
        return kernel.request("is_complete_request", {"code": code})[0]["content"]

    brace = ask("fn f() {")
    assert brace["status"] == "incomplete"
    assert isinstance(brace.get("indent"), str) and brace["indent"] and not brace["indent"].strip()
    assert ask('let s = "open')["status"] == "incomplete"
    assert ask("let x = (1, 2];")["status"] == "invalid"
    assert ask("let x = 1;")["status"] == "complete"
    # evcxr commands are whole cells: a console must not wait for more lines after them.
    for command in (":vars", ":help", ':dep serde = "1"'):
        assert ask(command)["status"] != "incomplete", command


def test_evcxr_commands_still_work(kernel: KernelSession) -> None:
    name = f"vars_probe_{token()}"
    kernel.run_ok(f"let {name}: u8 = 7;")
    assert name in all_text(kernel.run_ok(":vars").outputs)
    assert ":dep" in all_text(kernel.run_ok(":help").outputs)


def test_cells_share_one_runtime(kernel: KernelSession) -> None:
    """Each cell is its own shared object; they all link the one strata-cells dylib, so a
    setting made in one cell is the setting of the next (not a fresh copy of the runtime's
    state per cell)."""
    budget = 123_456_789 + int(token(), 16) % 1000
    before = kernel.run_ok("strata::exec::memory_budget()").result["text/plain"]
    kernel.run_ok(f"set_memory_budget({budget});")
    assert kernel.run_ok("strata::exec::memory_budget()").result["text/plain"] == str(budget)
    kernel.run_ok("let mine = Session::new(); mine.set_memory_budget(1 << 20);")
    assert kernel.run_ok("(mine.memory_budget(), strata::exec::memory_budget())").result["text/plain"] == f"(1048576, {budget})"
    kernel.run_ok(f"set_memory_budget({before});")


# -- comms ---------------------------------------------------------------------------------------


def test_comm_info_and_unknown_comm_target(kernel: KernelSession) -> None:
    reply, _ = kernel.request("comm_info_request", {})
    assert reply["content"]["status"] == "ok" and isinstance(reply["content"]["comms"], dict)

    comm_id = uuid.uuid4().hex
    kernel.send("shell", "comm_open",
                {"comm_id": comm_id, "target_name": "no.such.target", "data": {}})
    close = kernel.wait_for(
        "iopub", lambda r: r.msg_type == "comm_close" and r.content.get("comm_id") == comm_id,
        timeout=30, what="comm_close for an unknown target",
    )
    assert close.content["comm_id"] == comm_id
    assert text_plain(kernel.run_ok("1 + 1").result) == "2"


# -- signatures and hostile input ----------------------------------------------------------------


def _connect(km: KernelManager, port_name: str, linger_ms: int = 0) -> zmq.Socket:
    info = km.get_connection_info()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, linger_ms)
    sock.connect(f"{info['transport']}://{info['ip']}:{info[port_name]}")
    return sock


def _sign(key: bytes, parts: list[bytes]) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        mac.update(p)
    return mac.hexdigest().encode()


def test_forged_or_missing_signature_is_ignored(kernel: KernelSession) -> None:
    info = kernel.km.get_connection_info()
    key = info["key"] if isinstance(info["key"], bytes) else info["key"].encode()
    assert key, "the test kernel must run with a signing key"
    good = Session(key=key, signature_scheme="hmac-sha256", username="strata-test")
    forged = Session(key=b"not-the-key", signature_scheme="hmac-sha256", username="strata-test")
    probe = f"forged_probe_{token()}"
    content = {"code": f"let {probe} = 1;", "silent": False, "store_history": True,
               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}

    sock = _connect(kernel.km, "shell_port")
    try:
        forged_id = forged.send(sock, "execute_request", content)["header"]["msg_id"]
        # Same message, no signature at all.
        unsigned = good.msg("execute_request", content)
        parts = [good.pack(unsigned[k]) for k in ("header", "parent_header", "metadata", "content")]
        sock.send_multipart([DELIM, b""] + parts)
        unsigned_id = unsigned["header"]["msg_id"]

        assert sock.poll(3000) == 0, "the kernel answered a badly signed request"
        kernel.drain(0.5)
        answered = {r.parent_id for r in kernel.buffers["iopub"]}
        assert forged_id not in answered and unsigned_id not in answered

        # A correctly signed request on the same socket is served, and the forged code never ran.
        ok_id = good.send(sock, "execute_request", {**content, "code": f"{probe} + 1"})[
            "header"]["msg_id"]
        assert sock.poll(120_000), "no reply to a correctly signed request"
        _, frames = good.feed_identities(sock.recv_multipart())
        reply = good.deserialize(frames)  # also checks the kernel's own signature
        assert reply["parent_header"]["msg_id"] == ok_id
        assert reply["content"]["status"] == "error", "code from a forged request was executed"
    finally:
        sock.close()
    assert text_plain(kernel.run_ok("1 + 1").result) == "2"


def test_malformed_frames_do_not_hurt_the_kernel(
    fresh_kernel: Callable[..., KernelSession]
) -> None:
    ks = fresh_kernel()
    key = ks.km.session.key
    header = json.dumps({"msg_id": uuid.uuid4().hex, "session": "x", "username": "t",
                         "date": "2024-01-01T00:00:00Z", "msg_type": "execute_request",
                         "version": "5.4"}).encode()

    def signed(*parts: bytes) -> list[bytes]:
        return [DELIM, _sign(key, list(parts)), *parts]

    garbage: list[list[bytes]] = [
        [b""],
        [b"garbage"],
        [b"no", b"delimiter", b"here", b"at", b"all", b"!"],
        [DELIM],
        [DELIM, b"0" * 64, header],  # too few frames
        signed(b"{not json", b"{}", b"{}", b"{}"),
        signed(b"\xff\xfe\xfd", b"{}", b"{}", b"{}"),  # not UTF-8
        signed(b"[]", b"{}", b"{}", b"{}"),  # JSON, not an object
        signed(b'{"msg_id": "only-an-id"}', b"{}", b"{}", b"{}"),
        signed(header, b"{}", b"{}", b'{"code": 5}'),  # wrong type in content
        signed(header.replace(b"execute_request", b"no_such_request"), b"{}", b"{}", b"{}"),
        [DELIM, b"zz" * 32, header, b"{}", b"{}", b"{}"],  # signature not hex
        [DELIM, b"0" * 64, header, b"{}", b"{}", b"x" * (32 * 1024 * 1024)],  # huge, bad sig
    ]
    for port in ("shell_port", "control_port", "stdin_port"):
        sock = _connect(ks.km, port, linger_ms=10_000)  # close() waits until all is sent
        try:
            for frames in garbage:
                sock.send_multipart(frames)
        finally:
            sock.close()
    time.sleep(1.0)

    assert ks.km.is_alive(), "the kernel process died on malformed input"
    assert ks.heartbeat_ok()
    reply, _ = ks.request("kernel_info_request", timeout=30)
    assert reply["content"]["status"] == "ok"
    assert text_plain(ks.run_ok("40 + 2").result) == "42"


def test_empty_key_disables_signing(fresh_kernel: Callable[..., KernelSession]) -> None:
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.session.key = b""
    ks = fresh_kernel(km=km)
    assert ks.km.get_connection_info()["key"] in (b"", "")
    reply, _ = ks.request("kernel_info_request", timeout=30)
    assert reply["content"]["status"] == "ok"
    assert reply["header"]["session"]


# -- interrupt -----------------------------------------------------------------------------------


def test_interrupt_cancels_runtime_computation_and_keeps_variables(
    fresh_kernel: Callable[..., KernelSession]
) -> None:
    ks = fresh_kernel()
    ks.run_ok("let kept = 41;")
    code = LONG_MAP_TASKS
    msg_id, sent_at = ks.submit(code)
    ks.wait_for("iopub", lambda r: r.parent_id == msg_id and "map-started" in
                str(r.content.get("text", "")), timeout=120, what="the computation to start")

    # Control is served while shell is busy: the reply comes before the cell's idle.
    info = ks.reply(ks.send("control", "kernel_info_request", {}), "control", timeout=60)
    assert info["content"]["status"] == "ok"
    ks.pump("iopub", 0.0)
    assert not any(r.parent_id == msg_id and r.msg_type == "status" and r.content["execution_state"] == "idle"
                   for r in ks.buffers["iopub"]), "kernel_info on control waited for the cell"
    assert ks.heartbeat_ok(timeout=30.0)

    assert ks.interrupt()["content"]["status"] == "ok"
    run = ks.finish(code, msg_id, sent_at, timeout=120)
    assert run.status == "error", run.describe()
    # Stopped early, between tasks: the error says how far it got.
    stopped = re.search(r"after (\d+) of 100000 tasks", run.error_text)
    assert stopped and int(stopped.group(1)) < 100_000, run.error_text
    assert text_plain(ks.run_ok("kept + 1").result) == "42"


def test_interrupt_plain_loop_restarts_child_and_names_lost_variables(
    fresh_kernel: Callable[..., KernelSession]
) -> None:
    ks = fresh_kernel()
    ks.run_ok("let kept2 = 5;")
    code = 'println!("spinning");\nloop { std::hint::spin_loop(); }'
    msg_id, sent_at = ks.submit(code)
    ks.wait_for("iopub", lambda r: r.parent_id == msg_id and "spinning" in
                str(r.content.get("text", "")), timeout=120, what="the loop to start")
    assert ks.heartbeat_ok(timeout=30.0), "heartbeat must not depend on the busy engine"

    # The loop never ends, so a reply proves the interrupt stopped it.
    assert ks.interrupt()["content"]["status"] == "ok"
    run = ks.finish(code, msg_id, sent_at, timeout=120)
    assert run.status == "error", run.describe()
    assert "kept2" in run.error_text + all_text(run.outputs), (
        "the user is not told which variables were lost:\n" + run.describe()
    )
    assert text_plain(ks.run_ok("1 + 1").result) == "2"


# -- stdin ---------------------------------------------------------------------------------------


def test_input_request_round_trip(kernel: KernelSession) -> None:
    """The prelude's `input` (evcxr's input protocol underneath) becomes an input_request on
    the stdin channel, parented to the cell, and the reply's value reaches the cell."""
    code = 'let name = input("Your name? ");\nprintln!("hello {name}!");'
    msg_id, sent_at = kernel.submit(code, allow_stdin=True)
    request = kernel.wait_for(
        "stdin", lambda r: r.msg_type == "input_request" and r.parent_id == msg_id,
        timeout=120, what="input_request")
    assert request.parent_id == msg_id
    assert "Your name?" in request.content["prompt"]
    assert not request.content["password"]
    kernel.kc.input("Ferris")
    run = kernel.finish(code, msg_id, sent_at)
    assert run.status == "ok", run.describe()
    assert "hello Ferris!" in run.stream()


def test_password_input_is_flagged(kernel: KernelSession) -> None:
    code = 'let secret = input_password("Token: ");\nsecret.len()'
    msg_id, sent_at = kernel.submit(code, allow_stdin=True)
    request = kernel.wait_for(
        "stdin", lambda r: r.msg_type == "input_request" and r.parent_id == msg_id,
        timeout=120, what="input_request")
    assert request.content["password"]
    kernel.kc.input("abcd")
    run = kernel.finish(code, msg_id, sent_at)
    assert run.status == "ok", run.describe()
    assert text_plain(run.result) == "4"


# -- history and shutdown ------------------------------------------------------------------------


def test_history_tail_range_search(kernel: KernelSession) -> None:
    t = token()
    cells = [f"let hist_{t}_{i} = {i};" for i in range(3)]
    for c in cells:
        kernel.run_ok(c)
    reply, _ = kernel.request("history_request",
                              {"hist_access_type": "tail", "n": 3, "output": False, "raw": True})
    history = reply["content"]["history"]
    assert [h[2] for h in history] == cells, history
    session, line = history[0][0], history[0][1]
    assert [h[1] for h in history] == [line, line + 1, line + 2]

    reply, _ = kernel.request("history_request", {
        "hist_access_type": "range", "session": session, "start": line + 1, "stop": line + 3,
        "output": False, "raw": True})
    assert [h[2] for h in reply["content"]["history"]] == cells[1:]

    reply, _ = kernel.request("history_request", {
        "hist_access_type": "search", "pattern": f"*hist_{t}_1*", "n": 10,
        "output": False, "raw": True, "unique": False})
    assert [h[2] for h in reply["content"]["history"]] == [cells[1]]


@pytest.mark.parametrize("restart", [False, True])
def test_shutdown_echoes_restart_exits_and_history_persists(
    fresh_kernel: Callable[..., KernelSession], restart: bool
) -> None:
    ks = fresh_kernel()
    name = f"shutdown_probe_{token()}"
    probe = f"let {name} = 1;"
    ks.run_ok(probe)
    msg_id = ks.send("control", "shutdown_request", {"restart": restart})
    reply = ks.reply(msg_id, "control", timeout=15)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is restart

    deadline = time.monotonic() + 20
    while ks.km.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ks.km.is_alive(), "the kernel process did not exit after shutdown_reply"

    if restart:
        # A kernel started after the shutdown sees the previous session's history.
        again = fresh_kernel()
        reply, _ = again.request("history_request", {
            "hist_access_type": "search", "pattern": f"*{name}*", "n": 5,
            "output": False, "raw": True, "unique": True})
        sources = [h[2] for h in reply["content"]["history"]]
        assert probe in sources, sources


# -- concurrency ---------------------------------------------------------------------------------


def test_two_kernels_run_cells_at_the_same_time(
    fresh_kernel: Callable[..., KernelSession]
) -> None:
    a, b = fresh_kernel(), fresh_kernel()
    ka, kb = f"two_a_{token()}", f"two_b_{token()}"
    sent = [(a, a.submit(f'let {ka} = 20; {ka} + 1')), (b, b.submit(f'let {kb} = 40; {kb} + 2'))]
    results = [ks.finish("cell", *s, timeout=240) for ks, s in sent]
    assert [text_plain(r.result) for r in results] == ["21", "42"], [r.describe() for r in results]
    # Each kernel has its own variables.
    assert a.run(f"{kb}").status == "error"


# -- load ----------------------------------------------------------------------------------------


def test_pipelined_execute_requests_are_all_answered_in_order(kernel: KernelSession) -> None:
    """A client that sends 100 cells without waiting gets 100 replies, in order, each with
    its own output and counter: nothing is dropped or reordered by the shell queue."""
    t = token()
    ids = [kernel.submit(f'println!("pipe-{t}-{i}"); {i}')[0] for i in range(100)]
    replies = [kernel.reply(msg_id, timeout=300) for msg_id in ids]
    assert all(r["content"]["status"] == "ok" for r in replies), [r["content"] for r in replies if r["content"]["status"] != "ok"][:3]
    counts = [r["content"]["execution_count"] for r in replies]
    assert counts == list(range(counts[0], counts[0] + 100)), counts
    arrival = {r.parent_id: i for i, r in enumerate(kernel.buffers["shell"]) if r.parent_id in ids}
    assert [arrival[m] for m in ids] == sorted(arrival[m] for m in ids), "replies out of order"
    for i, msg_id in enumerate(ids[::10]):
        outputs = kernel.iopub_until_idle(msg_id)
        streams = "".join(o.content["text"] for o in outputs if o.msg_type == "stream")
        assert streams == f"pipe-{t}-{i * 10}\n", streams
