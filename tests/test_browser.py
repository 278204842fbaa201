"""The exercise notebook as a learner meets it: JupyterLab in a real headless Chromium (Debian's
`chromium`, driven by Playwright's Python API through executable_path; Playwright's own browser
download is never used), first as shipped, then with the solution's code in the graded cells, all
cells run with NST_MAX_ITERATIONS=2.

Screenshots (the top, a test with its expected output, the result) go to the folder printed, by
default under pytest's tmp_path (NST_BROWSER_SCREENSHOTS names another). Outside CI the test skips
only when no Chromium is found; under CI=true it never skips.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nst_utils.resources import ASSIGNMENT

ROOT = Path(__file__).resolve().parent.parent
NAME = ASSIGNMENT
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
#: JupyterLab's user settings for the test: every cell in the page, no news or update checks.
LAB_SETTINGS = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}
RUN_SECONDS = 900


def chromium():
    found = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.path.exists(p)), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium under CI: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium found (Debian: apt-get install chromium); the browser test needs one")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A token-less JupyterLab on 127.0.0.1 serving its own folder with two copies of the exercise:
    shipped.ipynb as shipped, filled.ipynb with the solution's graded cells."""
    browser = chromium()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    exercise = nbformat.read(str(ROOT / "notebooks" / "exercises" / NAME), as_version=4)
    nbformat.write(exercise, str(root / "shipped.ipynb"))
    solution = {c.id: c.source for c in nbformat.read(str(ROOT / "notebooks" / NAME), as_version=4).cells}
    for cell in exercise.cells:
        if any(t.startswith("graded:") for t in cell.metadata.get("tags", [])):
            cell.source = solution[cell.id]
    nbformat.write(exercise, str(root / "filled.ipynb"))
    for name, values in LAB_SETTINGS.items():
        path = base / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = dict(os.environ, NST_MAX_ITERATIONS="2", TF_CPP_MIN_LOG_LEVEL="2",
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(base / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"))
    log = open(base / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False", "--allow-root"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (base / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"url": url, "root": root, "browser": browser, "profile": base / "chromium-profile"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(lab["profile"]), executable_path=lab["browser"], headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("NST_BROWSER_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def open_notebook(page, lab, name):
    """Open the notebook alone (no side bar), all its cells in the page, its kernel idle."""
    cells = len(nbformat.read(str(lab["root"] / name), as_version=4).cells)
    page.goto(f"{lab['url']}/lab/tree/{name}?reset")
    page.wait_for_function(f"document.querySelectorAll('.jp-Notebook .jp-Cell').length >= {cells}",
                           timeout=120_000)
    page.get_by_text("| Idle").wait_for(timeout=180_000)
    if page.locator(".jp-FileBrowser").is_visible():
        page.keyboard.press("Control+b")
    page.wait_for_timeout(500)


def run_all(page):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def wait_until_done(page, lab, name):
    """Until the kernel is idle again and the notebook, saved, shows the last cell ran or an error."""
    page.wait_for_timeout(2000)
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        if page.get_by_text("| Idle").count() and not page.locator(".jp-InputPrompt", has_text="[*]").count():
            break
        page.wait_for_timeout(1000)
    page.keyboard.press("Control+s")
    page.wait_for_timeout(3000)
    return nbformat.read(str(lab["root"] / name), as_version=4)


def cell_index(nb, cell_id):
    return next(k for k, c in enumerate(nb.cells) if c.id == cell_id)


def nth_cell(page, k):
    return page.locator(".jp-Notebook .jp-Cell").nth(k)


@pytest.mark.slow
def test_exercise_as_shipped_then_filled_in(lab, page, shots):
    shipped = nbformat.read(str(lab["root"] / "shipped.ipynb"), as_version=4)
    tests = [k for k, c in enumerate(shipped.cells) if any(t.startswith("test:") for t in c.metadata.get("tags", []))]

    # As shipped: nothing says "All tests passed" before a test ran; every Expected output block renders.
    open_notebook(page, lab, "shipped.ipynb")
    page.screenshot(path=str(shots / "1-top.png"))
    assert page.locator(".jp-OutputArea", has_text="All tests passed").count() == 0
    # a block is headed by its bold "Expected output" line (the intro mentions the blocks too)
    blocks = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown:has(pre)"
                          ":has(> p:first-child > strong:text-is('Expected output'))")
    assert blocks.count() == len(tests) == 6
    assert "J_content = 7.05688" in blocks.first.inner_text()
    run_all(page)
    ran = wait_until_done(page, lab, "shipped.ipynb")
    first_test = nth_cell(page, tests[0])
    first_test.scroll_into_view_if_needed()
    error = first_test.locator(".jp-OutputArea-output").first
    error.wait_for(timeout=60_000)
    shown = error.inner_text()
    # the verdict and the hint, first, and no traceback through the package's test code
    first, second = shown.splitlines()[:2]
    assert first.startswith("compute_content_cost_test failed: compute_content_cost ") and "None" in first, shown
    assert second.startswith("Hint: did you leave a None placeholder"), shown
    assert "Traceback" not in shown and "messages.py" not in shown and "public_tests.py" not in shown, shown
    nth_cell(page, tests[0] - 1).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "2-test-failing-with-expected-output.png"))
    errors = [c for c in ran.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert [c.id for c in errors] == [shipped.cells[tests[0]].id]  # the run stops at the first failing test

    # Filled in: every cell runs, every test passes, the loop shows its bar and the image.
    open_notebook(page, lab, "filled.ipynb")
    run_all(page)
    done = wait_until_done(page, lab, "filled.ipynb")
    errors = [(c.id, o.get("ename"), o.get("evalue")) for c in done.cells for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert errors == []
    assert all(c.execution_count for c in done.cells if c.cell_type == "code"), "a cell did not run"
    for k in tests:
        printed = "".join(o.get("text", "") for o in done.cells[k].outputs)
        assert printed.rstrip().endswith("All tests passed"), (done.cells[k].id, printed)
    train = nth_cell(page, cell_index(done, "train"))
    train.scroll_into_view_if_needed()
    assert train.locator(".widget-progress, progress").count() or "NST:" in train.inner_text()
    assert "capped at 2 of 200 by NST_MAX_ITERATIONS" in train.inner_text()
    assert "Network:" in train.inner_text()
    assert train.locator(".jp-OutputArea-output img").count() >= 1  # the generated image, inline
    train.screenshot(path=str(shots / "4-result.png"))
    k = tests[0]
    nth_cell(page, k - 1).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "3-test-passed-with-expected-output.png"))

    # The table of contents: a link scrolls to its section.
    toc = nth_cell(page, cell_index(done, "toc"))
    toc.scroll_into_view_if_needed()
    toc.get_by_role("link", name="4 - Solving the Optimization Problem").click()
    page.wait_for_timeout(1500)
    # JupyterLab names a heading by its text, spaces as '-' (data-jupyter-id: the sanitiser drops ids)
    heading = page.locator("h2[data-jupyter-id='4---Solving-the-Optimization-Problem']")
    assert heading.count() == 1
    box, view = heading.bounding_box(), page.locator(".jp-WindowedPanel-outer").first.bounding_box()
    assert box is not None and view["y"] - 5 <= box["y"] <= view["y"] + view["height"] / 2, (box, view)
    page.screenshot(path=str(shots / "5-after-table-of-contents-link.png"))
