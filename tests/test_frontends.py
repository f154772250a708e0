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


def outputs_of(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def mime_count(nb, mime: str) -> int:
    return sum(1 for o in outputs_of(nb) if mime in o.get("data", {}))


def printed(nb) -> str:
    return "".join(o.get("text", "") for o in outputs_of(nb) if o.get("output_type") == "stream" and o.get("name") == "stdout")


def check_sst(nb, workdir: Path) -> None:
    # The dataset, variable and climatology reprs; the first-month map, the index plot and the
    # December 1997 anomaly map.
    assert mime_count(nb, "text/html") >= 3
    assert mime_count(nb, "image/png") >= 3
    # The oracle: the index correlates with the ENSO signal the tutorial dataset was built with.
    line = next(l for l in printed(nb).splitlines() if l.startswith("correlation"))
    assert float(line.rsplit(" ", 1)[1]) > 0.9, line


def check_oxygen(nb, workdir: Path) -> None:
    assert mime_count(nb, "text/html") >= 2 and mime_count(nb, "image/png") >= 2
    maps = [o for o in outputs_of(nb) if "image/png" in o.get("data", {})]
    assert all("Dissolved oxygen [mmol m-3]" in o["data"]["text/plain"] for o in maps)
    line = next(l for l in printed(nb).splitlines() if l.startswith("hypoxic"))
    share = float(line.split(": ")[1].split("%")[0])
    assert 0.5 < share < 30, line
    assert (workdir / "oxygen_400m.png").read_bytes()[:4] == b"\x89PNG"


def check_sla(nb, workdir: Path) -> None:
    text = printed(nb)
    assert "365 daily files: dt_gulfstream_allsat_phy_l4_20190101.nc ... dt_gulfstream_allsat_phy_l4_20191231.nc" in text, text
    months = next(l for l in text.splitlines() if "monthly means" in l)
    assert months.startswith("12 monthly means: "), months
    assert all(abs(float(v)) < 1.0 for v in months.split(": ")[1].split()), months
    # The dataset and variable reprs; the series plot and the two maps.
    assert mime_count(nb, "text/html") >= 2 and mime_count(nb, "image/png") >= 3
    maps = [o["data"]["text/plain"] for o in outputs_of(nb) if "image/png" in o.get("data", {})]
    assert any("Mean sea level anomaly, 2019 [m]" in m for m in maps) and any("Standard deviation" in m for m in maps), maps


CHECKS = {"05_xarray_sst.ipynb": check_sst, "06_sea_level_anomaly.ipynb": check_sla, "07_oxygen_map.ipynb": check_oxygen}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_workshop_notebook_runs_without_errors(path: Path, tmp_path: Path) -> None:
    """notebooks/ is stored without outputs; each must run clean from a fresh kernel, in a
    scratch directory (what it saves lands there), and show what it teaches. The executed
    copy is kept in target/test-artifacts/notebooks."""
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "stored with outputs"
    client = NotebookClient(
        nb, kernel_name=KERNEL_NAME, timeout=600, startup_timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        artifacts = REPO / "target" / "test-artifacts" / "notebooks"
        artifacts.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, artifacts / path.name)
    errors = [o for o in outputs_of(nb) if o.get("output_type") == "error"]
    assert not errors, errors
    if path.name in CHECKS:
        CHECKS[path.name](nb, tmp_path)
