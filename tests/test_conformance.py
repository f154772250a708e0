"""Jupyter's own kernel conformance suite (jupyter_kernel_test 0.7) with Rust samples.

Every sample attribute the suite reads is filled in, so none of its tests is skipped. The suite
waits at most 15 s for each reply (its module constant TIMEOUT), the first one included: kernels
start warm (a spare engine takes them, kernel/src/pool), so that allowance is kept. In its
execute_helper it waits at most 0.1 s between one iopub message of a cell and the next, a
window a loaded machine misses for reasons that have nothing to do with conformance (a busy
core delays the `idle` after the reply), so execute_helper below is the suite's own with its
waits set by `timeout`. How fast a kernel starts and answers is measured
in bench/kernel_bench.py, not asserted here.

Semantics of the suite worth knowing when a test here fails:
- test_error expects exactly ONE iopub output, the `error`: a compile error must not also be
  streamed to stderr.
- test_completion compares `matches` as a set only when a sample gives "matches"; completions
  from rust-analyzer vary, so the samples here only check the reply's shape and the exact
  checks live in test_kernel_protocol.py.
- test_history re-executes every code_execute_result sample before each history request, then
  asks tail (n = number of samples, with and without output), range (session/start of the
  tail's first entry, one line), and search with code_history_pattern: plain, unique=True
  (exactly one distinct source may match in all persisted history; conftest.py points
  STRATA_HISTORY_FILE at a file of this test run) and n=3 (exactly 3).
  The pattern is a glob in IPython's sense (`*`, `?`, `[...]`), matched against the whole
  source, and "6 ? 7" matches only the source "6 * 7".
- test_inspect sends the sample with cursor_pos at its end.
"""
from __future__ import annotations

import jupyter_kernel_test as jkt  # not `from ... import KernelTests`: pytest would collect
import pytest                      # the base class too and run its (python3) kernel

from jupyter_kernel_test.msgspec_v5 import validate_message

from strata_client import KERNEL_NAME

pytestmark = pytest.mark.timeout(180)

# Read by the suite at call time (get_non_kernel_info_reply, the history and inspect tests):
# its own 15 s, set here so that a later version's default does not change what is held.
jkt.TIMEOUT = 15


class StrataKernelTests(jkt.KernelTests):
    kernel_name = KERNEL_NAME

    def execute_helper(self, code, timeout=120, silent=False, store_history=True, stop_on_error=True):  # type: ignore[override]
        """jupyter_kernel_test 0.7's execute_helper, checking the same things (the reply, then
        busy, execute_input with the code, the outputs, idle, all of this request), but waiting
        up to `timeout` for each message instead of 1 s for busy and 0.1 s for the others."""
        msg_id = self.kc.execute(code=code, silent=silent, store_history=store_history, stop_on_error=stop_on_error)
        reply = self.get_non_kernel_info_reply(timeout=timeout)
        assert reply is not None
        validate_message(reply, "execute_reply", msg_id)

        busy = self.kc.get_iopub_msg(timeout=timeout)
        validate_message(busy, "status", msg_id)
        self.assertEqual(busy["content"]["execution_state"], "busy")
        outputs = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            validate_message(msg, msg["msg_type"], msg_id)
            if msg["msg_type"] == "status":
                self.assertEqual(msg["content"]["execution_state"], "idle")
                break
            if msg["msg_type"] == "execute_input":
                self.assertEqual(msg["content"]["code"], code)
                continue
            outputs.append(msg)
        return reply, outputs

    language_name = "rust"
    file_extension = ".rs"

    # test_execute_stdout: a stdout stream containing "hello, world".
    code_hello_world = 'println!("hello, world");'

    # test_execute_stderr: a stderr stream.
    code_stderr = 'eprintln!("written to stderr");'

    # test_completion: reply shape only (see the module docstring).
    completion_samples = [
        {"text": "std::collections::HashM"},
        {"text": "let abc_def = 1;\nabc_"},
        {"text": "let v: Vec<i32> = Vec::new();\nv.le"},
    ]

    # test_is_complete
    complete_code_samples = [
        "let x = 1;",
        "1 + 1",
        'println!("done");',
        "fn f() -> i32 {\n    1\n}",
        'let s = "a { b";',  # braces inside a string literal do not count
    ]
    incomplete_code_samples = [
        "fn f() {",
        "for i in 0..3 {\n    println!(\"{i}\");",
        'let s = "unclosed',
        "let v = vec![1, 2,",
    ]
    invalid_code_samples = [
        "fn f() { )",
        "let x = (1, 2];",
        "}",
    ]

    # test_pager: exactly one payload, source "page", with text/plain.
    code_page_something = ":doc std::vec::Vec"

    # test_error: error reply and exactly one iopub output, the `error` (a compile error).
    code_generate_error = 'let broken: i32 = "not a number";'

    # test_execute_result (and the codes test_history executes).
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": 'let s = String::from("strata");\ns.len()', "result": "6"},
        {"code": "vec![1, 2, 3]", "result": "[1, 2, 3]"},
        {"code": 'Html("<b>bold</b>")', "mime": "text/html", "result": "<b>bold</b>"},
        {"code": 'Markdown("# Title")', "mime": "text/markdown", "result": "# Title"},
    ]

    # test_display_data
    code_display_data = [
        {"code": 'display(&Html("<i>shown</i>"));', "mime": "text/html"},
        {"code": 'display(&Markdown("*shown*"));', "mime": "text/markdown"},
        {"code": 'display(&Text("shown"));', "mime": "text/plain"},
    ]

    # test_history
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 ? 7"

    # test_inspect: found, with at least one mime type of docs.
    code_inspect_sample = "Vec"

    # test_clear_output: at least one clear_output message.
    code_clear_output = 'println!("about to clear");\nclear_output(false);'
