"""The kernel as the issue's users reach it: the kernelspec list, `jupyter nbconvert --execute`,
`jupyter console`, and the workshop notebooks in notebooks/ executed top to bottom."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from strata_client import KERNEL_NAME

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
JUPYTER = str(Path(sys.executable).parent / "jupyter")
KERNELSPEC_META = {"name": KERNEL_NAME, "display_name": "Rust (Strata)", "language": "rust"}


def jupyter(*args: str, timeout: float = 300, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [JUPYTER, *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )


def test_kernelspec_is_listed() -> None:
    done = jupyter("kernelspec", "list", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    specs = json.loads(done.stdout)["kernelspecs"]
    assert KERNEL_NAME in specs, sorted(specs)
    assert specs[KERNEL_NAME]["spec"]["language"] == "rust"


def test_nbconvert_executes_a_notebook(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC_META})
    nb.cells = [
        nbformat.v4.new_code_cell("let answer = 6 * 7;"),
        nbformat.v4.new_code_cell('println!("nb-out {answer}");'),
        nbformat.v4.new_code_cell('display(&Html("<b>nb</b>"));'),
        nbformat.v4.new_code_cell("answer"),
    ]
    src = tmp_path / "probe.ipynb"
    nbformat.write(nb, src)
    done = jupyter("nbconvert", "--to", "notebook", "--execute",
                   "--ExecutePreprocessor.timeout=300", "--output", "executed.ipynb", str(src))
    assert done.returncode == 0, done.stderr[-3000:]
    out = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    stream, display, result = (out.cells[i].outputs for i in (1, 2, 3))
    assert stream[0]["output_type"] == "stream" and stream[0]["text"] == "nb-out 42\n", stream
    assert display[0]["output_type"] == "display_data"
    assert display[0]["data"]["text/html"] == "<b>nb</b>"
    assert result[0]["output_type"] == "execute_result"
    assert result[0]["data"]["text/plain"] == "42"
    assert [c.execution_count for c in out.cells] == [1, 2, 3, 4]


def test_jupyter_console_runs_a_cell() -> None:
    done = jupyter(
        "console", "--kernel", KERNEL_NAME, "--simple-prompt",
        "--ZMQTerminalInteractiveShell.kernel_timeout=120",
        stdin='println!("console-{}", 6 * 7);\n', timeout=300,
    )
    assert "console-42" in done.stdout, (done.stdout[-2000:], done.stderr[-2000:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_workshop_notebook_runs_without_errors(path: Path) -> None:
    """notebooks/ is stored without outputs; each must run clean from a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=KERNEL_NAME, timeout=600, startup_timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
