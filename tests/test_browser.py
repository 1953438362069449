"""The chapter-03 sliders really work in a browser: JupyterLab driven by headless Chromium.

Uses Debian's Chromium (``/usr/bin/chromium``, apt package ``chromium``) through the
``playwright`` Python package — never a browser download. Skipped with the reason where either is
missing, unless ``MLSEG_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which turns the skip into a
failure. Screenshots of the widget are saved in ``test-artifacts/``.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MLSEG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "03_classical_methods.ipynb"
CODE_CELLS = sum(c["cell_type"] == "code" for c in json.loads(
    (ROOT / "notebooks" / NOTEBOOK).read_text())["cells"])

pytestmark = pytest.mark.browser


def _missing():
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def _require_browser():
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("MLSEG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MLSEG_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on 127.0.0.1 with a token and private config dirs, serving a copy of the
    notebook (autosave must never touch the committed one). Stopped through its API."""
    _require_browser()
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, served / NOTEBOOK)
    config = tmp_path / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "IPYTHONDIR": str(tmp_path / "ipy"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    port, token = _free_port(), "mlseg-browser-test"
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={served}",
         "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.open_browser=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start: "
                                       + (tmp_path / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield base, token, served
    finally:
        try:
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
        except OSError:
            pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
        log.close()


def expected_dice(t):
    """What numpy says for the notebook's 8-bit image and labels at threshold ``t``."""
    from mlseg import imaging, metrics, phantoms

    clean, labels = phantoms.brain_slice(rng=3)
    noisy = imaging.rician_noise(clean, 0.03, rng=3)
    image = np.round(np.clip(noisy / noisy.max(), 0, 1) * 255).astype(np.uint8)
    return metrics.dice(labels == 3, image > t)


def test_threshold_slider_moves_with_the_keyboard_and_updates_dice_and_image(jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base, token, _ = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=60_000)

            # wait for the kernel to be connected, then Kernel > Restart Kernel and Run All Cells
            page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).first.wait_for(
                timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Kernel$")).click()
            page.locator(".lm-Menu-itemLabel",
                         has_text=re.compile(r"^Restart Kernel and Run All Cells")).click()
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
            page.wait_for_function(
                """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                         .some(p => /\\[\\*\\]/.test(p.textContent))""", timeout=60_000)

            # every prompt numbered (none queued or running), then the kernel really idle
            try:
                page.wait_for_function(
                    """n => {
                        const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                        return p.length === n && p.every(e => /\\[\\d+\\]/.test(e.textContent));
                    }""", arg=CODE_CELLS, timeout=240_000)
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                       timeout=60_000)
                widget = page.locator(".widget-interact").filter(
                    has=page.locator(".widget-label", has_text=re.compile(r"^threshold$"))).first
                widget.wait_for(state="attached", timeout=60_000)
            except PlaywrightTimeout:
                page.screenshot(path=str(ARTIFACTS / "notebook_at_timeout.png"), full_page=True)
                prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt",
                                                    "els => els.map(e => e.textContent)")
                raise AssertionError(f"notebook did not finish: prompts {prompts}") from None
            widget.scroll_into_view_if_needed()
            readout = widget.locator(".widget-readout").first
            output = widget.locator(".widget-output")
            page.wait_for_function(
                "el => /threshold \\d+: Dice/.test(el.textContent)",
                arg=output.element_handle(), timeout=60_000)
            before_value = int(readout.inner_text())
            before_text = output.inner_text()
            before_image = output.locator("img").first.get_attribute("src")
            widget.screenshot(path=str(ARTIFACTS / "threshold_before.png"))

            widget.locator(".noUi-handle").first.focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")

            page.wait_for_function(
                "([el, old]) => el.textContent !== old && /threshold \\d+: Dice/.test("
                "el.textContent)", arg=[output.element_handle(), before_text], timeout=60_000)
            page.wait_for_timeout(500)  # let the new image arrive with the new text
            after_value = int(readout.inner_text())
            after_text = output.inner_text()
            after_image = output.locator("img").first.get_attribute("src")
            widget.screenshot(path=str(ARTIFACTS / "threshold_after.png"))
        finally:
            browser.close()

    assert after_value == before_value + 2
    shown = re.search(r"threshold (\d+): Dice ([0-9.]+)", after_text)
    assert shown is not None, after_text
    assert int(shown.group(1)) == after_value
    assert float(shown.group(2)) == pytest.approx(expected_dice(after_value), abs=1e-4)
    assert float(shown.group(2)) != pytest.approx(
        float(re.search(r"Dice ([0-9.]+)", before_text).group(1)), abs=1e-9)
    assert before_image and after_image and before_image != after_image
