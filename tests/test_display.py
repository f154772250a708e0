"""Rich display through the kernel, as a notebook front end receives it: datasets and arrays
as a cell's value give xarray/dask-like HTML with a text fallback; `display(&x)` shows them
mid-cell; a computation longer than half a second draws one progress bar that is updated in
place and ends at 100% (or says it was interrupted)."""
from __future__ import annotations

SETUP = (
    "let x = RandomState::new(0).random(&[480, 90, 180], &[12, 90, 180]).astype::<f32>();\n"
    'let sst = DataArray::new(x, &["time", "lat", "lon"])?\n'
    '    .with_index("lat", (0..90).map(|i| -89.0 + 2.0 * i as f64).collect())?\n'
    '    .with_attr("units", "degC").with_attr("long_name", "<b>sea</b> surface & more");\n'
    'let ds = sst.to_dataset(Some("sst"))?;'
)


def test_a_dataset_as_a_cells_value_shows_as_html_with_text(kernel):
    kernel.run_ok(SETUP)
    shown = kernel.run_ok("ds").result
    html, text = shown["text/html"], shown["text/plain"]
    assert "strata.Dataset" in html and "Data variables:" in html and "Coordinates:" in html
    assert "st-chunks-svg" in html, "the lazy variable shows its chunk diagram"
    assert "&lt;b&gt;sea&lt;/b&gt; surface &amp; more" in html and "<b>sea</b>" not in html
    assert "<script" not in html
    assert text.startswith("<strata.Dataset>") and "sst" in text and "(time, lat, lon) float32 lazy" in text

    array = kernel.run_ok("sst").result
    assert "strata.DataArray" in array["text/html"] and "units" in array["text/html"]
    assert array["text/plain"].startswith("<strata.DataArray (time: 480, lat: 90, lon: 180)> Size: 29.66 MiB")

    chunked = kernel.run_ok("sst.data().clone()").result
    assert "Bytes" in chunked["text/html"] and "(12, 90, 180)" in chunked["text/html"]
    assert "<polygon" in chunked["text/html"], "a 3-D array is drawn as a cube"


def test_a_plans_explain_shows_its_steps_and_the_optimised_plan(kernel):
    kernel.run_ok(SETUP)
    text = kernel.run_ok('let a = sst.astype::<f64>();\n(&a - &a.mean("time")?).isel([("lat", Sel::from(10..20))])?.explain()').result["text/plain"]
    lines = text.splitlines()
    assert lines[0].startswith("getitem [0:480, 10:20, 0:180]: float64 (480, 10, 180) in 40 chunks of (12, 10, 180)"), text
    assert any(line.lstrip().startswith("random uniform(0, 1) seed=") for line in lines), text
    # The optimised plan (after "optimized:") reads the box only: its mean is over 10 rows.
    optimized = text.split("optimized:\n", 1)[1]
    assert "mean axes=[0]: float64 (10, 180)" in optimized, text


def test_display_shows_a_dataset_mid_cell(kernel):
    kernel.run_ok(SETUP)
    run = kernel.run_ok('display(&ds);\nprintln!("after");')
    shown = run.of_type("display_data")
    assert len(shown) == 1 and "strata.Dataset" in shown[0].content["data"]["text/html"]
    assert run.stream() == "after\n"


# A computation slow by construction, whatever the machine: each of its 16 chunks waits
# 100 ms (a stand-in for a slow read) and they run one at a time, so it lasts at least 1.6 s,
# well past the half second after which a bar appears, on a fast machine as on a slow one.
SLOW_SUM = (
    "let y = RandomState::new(1).random(&[4_000, 4_000], &[1_000, 1_000])\n"
    "    .map_blocks(|b| { std::thread::sleep(std::time::Duration::from_millis(100)); b });\n"
    "let s = (&y * 2.0).sum(..).scalar_with(&ComputeOptions::default().threads(1))?;\n"
    'println!("{}", s > 0.0);'
)


def bar_seconds(update) -> float:
    """The elapsed time a running bar shows ("... 5 / 16 tasks · 61.04 MiB · 0.6 s")."""
    import re

    shown = re.search(r"· ([0-9.]+) s$", update.content["data"]["text/plain"])
    assert shown, update.content["data"]["text/plain"]
    return float(shown.group(1))


def test_a_long_computation_draws_one_bar_updated_in_place(kernel):
    run = kernel.run_ok(SLOW_SUM)
    assert run.stream().strip() == "true"
    shown = run.of_type("display_data")
    updates = run.of_type("update_display_data")
    assert len(shown) == 1, [r.content for r in shown]
    display_id = shown[0].content["transient"]["display_id"]
    assert updates and all(u.content["transient"]["display_id"] == display_id for u in updates)
    last = updates[-1].content["data"]
    assert "100%" in last["text/plain"] and "done:" in last["text/plain"], last
    assert "strata-progress" in last["text/html"]
    # At most ten updates a second, by the kernel's own clock: the running bars carry their
    # elapsed time (to 0.1 s), and two of them are at least 0.1 s apart. Times measured at the
    # client would not do: messages may arrive bunched on a loaded machine.
    running = [shown[0], *updates[:-1]]
    seconds = [bar_seconds(u) for u in running]
    assert seconds == sorted(seconds), seconds
    assert len(running) <= (seconds[-1] - seconds[0]) / 0.1 + 2, seconds


def test_a_short_computation_draws_no_bar(kernel):
    run = kernel.run_ok("zeros::<f64>(&[100, 100], &[10, 10]).sum(..).scalar()?")
    assert run.result["text/plain"] == "0.0"
    # A bar is drawn only if this took half a second after all (a stalled, overloaded
    # machine); then it says so.
    bars = run.of_type("display_data") + run.of_type("update_display_data")
    if bars:
        import re

        took = re.search(r"done: \d+ tasks · ([0-9.]+) s", bars[-1].content["data"]["text/plain"])
        assert took and float(took.group(1)) >= 0.5, bars[-1].content


def test_the_delay_before_a_bar_is_settable(fresh_kernel):
    """`STRATA_PROGRESS_AFTER` (seconds, from the kernel's environment) and
    `set_progress_after` (in a cell) set how long a computation runs before its bar appears:
    at zero, even the shortest computation shows one, at 100% when done."""
    import os

    kernel = fresh_kernel(env=dict(os.environ, STRATA_PROGRESS_AFTER="0"))
    run = kernel.run_ok("zeros::<f64>(&[100, 100], &[10, 10]).sum(..).scalar()?")
    bars = run.of_type("display_data") + run.of_type("update_display_data")
    # 100 chunks summed, plus the task that combines them.
    assert bars and "100% done: 101 tasks" in bars[-1].content["data"]["text/plain"], [b.content for b in bars]

    run = kernel.run_ok(
        "set_progress_after(std::time::Duration::from_secs(3600));\n"
        "zeros::<f64>(&[100, 100], &[10, 10]).sum(..).scalar()?"
    )
    assert not run.of_type("display_data") and not run.of_type("update_display_data")


def test_an_interrupted_computation_says_so_in_its_bar(fresh_kernel):
    kernel = fresh_kernel()
    # 10,000 chunks that each wait 20 ms, two at a time: 100 s of work on any machine, so the
    # interrupt always lands while it runs, and the tasks running then end within 20 ms.
    msg_id, sent = kernel.submit(
        "let z = RandomState::new(2).random(&[10_000, 10], &[1, 10])\n"
        "    .map_blocks(|b| { std::thread::sleep(std::time::Duration::from_millis(20)); b });\n"
        "z.sum(..).scalar_with(&ComputeOptions::default().threads(2))?"
    )
    # Interrupted once the bar is up: the computation is running, not compiling.
    kernel.wait_for("iopub", lambda r: r.parent_id == msg_id and r.msg_type == "display_data", 120, "a progress bar")
    kernel.interrupt()
    run = kernel.finish("", msg_id, sent)
    assert run.status == "error" and "interrupted" in run.error_text
    updates = run.of_type("update_display_data")
    assert updates and "interrupted" in updates[-1].content["data"]["text/plain"]


def test_plots_and_maps_show_as_images(kernel):
    import base64

    run = kernel.run_ok(
        'let sst = strata::io::tutorial::open_dataset("sst")?.var("sst")?;\n'
        'let gb = sst.groupby("time.month")?;\n'
        'let anom = gb.sub(&gb.mean("time")?)?;\n'
        'let nino34 = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?.rolling("time", 3).mean()?.with_name("nino34");\n'
        "nino34.plot()?"
    )
    shown = run.result
    png = base64.b64decode(shown["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in shown["image/svg+xml"] and "nino34" in shown["image/svg+xml"]
    assert shown["text/plain"].startswith("<Figure 720x360")

    run = kernel.run_ok(
        'let o2 = strata::io::tutorial::open_dataset("oxygen")?.var("o2")?.sel([("depth", nearest(400.0))])?;\n'
        'display(o2.contourf(&[0.0, 20.0, 40.0, 60.0, 80.0, 120.0, 200.0, 300.0]).cmap("RdBu").norm(Norm::centered(60.0))\n'
        '    .projection(Projection::robinson(-160.0)).land("black").lines(&[60.0]));\n'
        'println!("after the map");\n'
        'o2.contourf(&[3.0, 1.0])'
    )
    maps = run.of_type("display_data")
    assert len(maps) == 1 and base64.b64decode(maps[0].content["data"]["image/png"])[:4] == b"\x89PNG"
    assert "Robinson map of Dissolved oxygen [mmol m-3]" in maps[0].content["data"]["text/plain"]
    assert "after the map" in run.stream()
    assert "plot failed: bad contour levels" in run.stream("stderr"), run.stream("stderr")


def test_a_program_draws_a_text_bar_on_a_terminal_and_nothing_on_a_file(tmp_path):
    """Outside a notebook: a computation redraws one line on stderr (carriage returns) and
    ends at 100%, when stderr is a terminal; nothing when it is a file. The program runs with
    STRATA_PROGRESS_AFTER=0, so its bar is drawn from the first task however fast the machine
    sums; with the default half second, a short computation draws nothing."""
    import os
    import pty
    import re
    import subprocess

    from conftest import cargo_example

    program = cargo_example("sum_random")
    at_once = dict(os.environ, STRATA_PROGRESS_AFTER="0")

    def on_a_terminal(n: int, env: dict) -> str:
        leader, follower = pty.openpty()
        done = subprocess.run([str(program), str(n)], stdout=subprocess.PIPE, stderr=follower, timeout=300, env=env)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        os.close(leader)
        assert done.returncode == 0 and float(done.stdout) != 0.0
        return drawn.decode()

    text = on_a_terminal(3000, at_once)
    assert "\r[" in text and text.count("\r") >= 2, text[-500:]
    last = text.strip().splitlines()[-1].split("\r")[-1]
    finished = re.search(r"100% (\d+) / (\d+) tasks", last)
    assert finished and finished.group(1) == finished.group(2) and int(finished.group(1)) >= 900, last

    # The default delay: a 100 x 100 sum is over long before half a second (unless the
    # machine stalled; then the bar it drew says that it took that long).
    quick = on_a_terminal(100, {k: v for k, v in os.environ.items() if k != "STRATA_PROGRESS_AFTER"})
    took = re.search(r"tasks · .* · ([0-9.]+) s", quick)
    assert "[" not in quick or (took and float(took.group(1)) >= 0.5), quick

    with open(tmp_path / "stderr.txt", "w") as err:
        done = subprocess.run([str(program), "3000"], stdout=subprocess.PIPE, stderr=err, timeout=300, env=at_once)
    assert done.returncode == 0
    assert (tmp_path / "stderr.txt").read_text() == ""
