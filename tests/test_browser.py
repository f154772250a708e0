"""JupyterLab in headless Chromium, as a user sees it: a notebook with the Strata kernel runs
its cells; the dataset repr folds open and shut with CSS alone; a long computation's progress
bar is one output updated in place that reaches 100%; the map is shown as an image.

Screenshots are kept in $STRATA_TEST_ARTIFACTS (default target/test-artifacts/browser)."""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("STRATA_TEST_ARTIFACTS", ROOT / "target" / "test-artifacts")) / "browser"
CHROMIUM = os.environ.get("STRATA_CHROMIUM", "/usr/bin/chromium")

CELLS = [
    # 0: a dataset as the cell's value.
    'let ds = strata::io::tutorial::open_dataset("sst")?;\nds',
    # 1: a computation of at least 1.6 s on any machine (16 chunks that each wait 100 ms, one
    # at a time), past the half second after which its progress bar appears.
    "let y = RandomState::new(1).random(&[4_000, 4_000], &[1_000, 1_000])\n"
    "    .map_blocks(|b| { std::thread::sleep(std::time::Duration::from_millis(100)); b });\n"
    "(&y * 2.0).sum(..).scalar_with(&ComputeOptions::default().threads(1))?",
    # 2: the workshop's oxygen map.
    'let o2 = strata::io::tutorial::open_dataset("oxygen")?.var("o2")?.sel([("depth", nearest(400.0))])?;\n'
    "o2.contourf(&[0.0, 20.0, 40.0, 60.0, 80.0, 120.0, 160.0, 200.0, 250.0, 300.0, 350.0])\n"
    '    .cmap("RdBu").norm(Norm::centered(60.0)).projection(Projection::robinson(-160.0)).land("black").lines(&[60.0])',
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(path: Path) -> None:
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "strata", "display_name": "Rust (Strata)", "language": "rust"}},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [], "source": src}
            for i, src in enumerate(CELLS)
        ],
    }
    path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback, serving a directory with one notebook."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test.sh installs Debian's chromium", pytrace=False)
    work = tmp_path_factory.mktemp("lab")
    notebook(work / "display.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / ".config"), JUPYTERLAB_SETTINGS_DIR=str(work / ".settings"), JUPYTERLAB_WORKSPACES_DIR=str(work / ".workspaces"))
    log = open(work / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--notebook-dir={work}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:], pytrace=False)
            time.sleep(0.5)
    yield base, token, work
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def test_jupyterlab_runs_a_notebook_with_reprs_progress_and_a_map(lab):
    from playwright.sync_api import sync_playwright

    base, token, work = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/display.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_timeout(2_000)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            cells = page.locator(".jp-Notebook .jp-CodeCell")

            # 2: the map, last, so everything above it has run too.
            image = cells.nth(2).locator(".jp-OutputArea-output img")
            image.wait_for(state="visible", timeout=600_000)
            page.screenshot(path=str(ARTIFACTS / "notebook-run.png"), full_page=True)
            assert cells.nth(2).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            box = image.bounding_box()
            assert box and box["width"] > 400 and box["height"] > 200, box
            assert image.evaluate("img => img.naturalWidth") == 860
            image.screenshot(path=str(ARTIFACTS / "map.png"))

            # 1: the progress bar: one output, updated in place, at 100% with its total time.
            bars = cells.nth(1).locator(".strata-progress")
            assert bars.count() == 1, bars.count()
            text = bars.inner_text()
            assert "100%" in text and "done" in text, text
            cells.nth(1).screenshot(path=str(ARTIFACTS / "progress.png"))

            # 0: the dataset repr; its sections fold open and shut with CSS alone.
            repr_ = cells.nth(0).locator(".st-wrap")
            assert repr_.is_visible()
            assert not cells.nth(0).locator(".st-text-fallback").is_visible(), "the text fallback is hidden by the style"
            attrs_section = repr_.locator("li.st-section-item").filter(has=page.locator("label.st-section-summary", has_text=re.compile(r"^Attributes:")))
            attrs_list = attrs_section.locator(".st-attrs")
            assert not attrs_list.is_visible(), "attributes start folded"
            attrs_section.locator("label.st-section-summary").click()
            attrs_list.wait_for(state="visible", timeout=30_000)
            assert "Conventions" in attrs_list.inner_text()
            cells.nth(0).screenshot(path=str(ARTIFACTS / "dataset-repr-expanded.png"))
            attrs_section.locator("label.st-section-summary").click()
            attrs_list.wait_for(state="hidden", timeout=30_000)
            variables = repr_.locator(".st-var-list").nth(1)
            assert "sst" in variables.inner_text()
            # The lazy variable's data toggle shows its chunk diagram, not values.
            sst_row = repr_.locator("li.st-var-item").filter(has=page.locator("div.st-var-name", has_text=re.compile(r"^sst$")))
            sst_row.locator("label.st-icon-data").click()
            sst_row.locator("svg.st-chunks-svg").wait_for(state="visible", timeout=30_000)
            cells.nth(0).screenshot(path=str(ARTIFACTS / "dataset-repr-chunks.png"))

            # Readable in the dark theme: the repr takes JupyterLab's colors, light on dark.
            def luminance(css: str) -> float:
                r, g, b = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
                return 0.2126 * r + 0.7152 * g + 0.0722 * b

            assert luminance(repr_.evaluate("e => getComputedStyle(e).color")) < 100, "dark text in the light theme"
            page.click(".lm-MenuBar-itemLabel:text-is('Settings')")
            page.click(".lm-Menu-itemLabel:text-is('Theme')")
            page.click(".lm-Menu-itemLabel:text-is('JupyterLab Dark')")
            page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
            # The theme's stylesheet applies a moment after the attribute changes: wait for the
            # repr's text to turn light (up to 30 s) rather than for a fixed time.
            light = ("e => { const [r, g, b] = getComputedStyle(e).color.match(/[\\d.]+/g).map(Number);"
                     " return 0.2126 * r + 0.7152 * g + 0.0722 * b > 150; }")
            try:
                page.wait_for_function(light, arg=repr_.element_handle(), timeout=30_000)
            except Exception:
                pass  # the assertion below reports the colour it found
            assert luminance(repr_.evaluate("e => getComputedStyle(e).color")) > 150, "light text in the dark theme"
            cells.nth(0).screenshot(path=str(ARTIFACTS / "dataset-repr-dark.png"))
        finally:
            browser.close()
