"""The explorers really work in a browser: JupyterLab driven by headless Chromium.

One slider per companion notebook (chapter 01: noise; chapter 02: the measures explorer;
chapter 03: the threshold; chapter 06: the number of clicks of the prompt explorer) is moved
with the keyboard; the readout must name the new slider value and print numpy's Dice for it, and
the image must change. Every wait is for exactly the text that is then parsed.

Chapter 06's mask comes from a model trained in the notebook, so numpy's Dice is computed in
the notebook's kernel: after the move a new cell takes the mask the explorer drew, the truth of
the structure under the click and the mask of the first click alone, and prints numpy's Dice
and whether the mask changed. Only the cells the explorer needs are served (the promptable
model's, not the other networks').

Uses Debian's Chromium (``/usr/bin/chromium``, apt package ``chromium``) through the
``playwright`` Python package — never a browser download. Skipped with the reason where either is
missing, unless ``MLSEG_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which turns the skip into a
failure. Screenshots of each explorer (and of the page on a failure) are saved in
``test-artifacts/``.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MLSEG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "mlseg-browser-test"

pytestmark = pytest.mark.browser


def numpy_dice(a, b):
    return 2 * np.sum(a & b) / (np.sum(a) + np.sum(b))


def noise_dice(sigma):
    """Chapter 01's noise explorer: the fixed WM threshold on the noisy slice of subject 1."""
    from mlseg import imaging, phantoms

    image, labels = phantoms.brain_slice(rng=1)
    threshold = (np.median(image[labels == 2]) + np.median(image[labels == 3])) / 2
    return numpy_dice(labels == 3, imaging.rician_noise(image, sigma, rng=0) > threshold)


def shift_dice(dx):
    """Chapter 02's measures explorer: observer A moved ``dx`` pixels right, against the truth."""
    from mlseg import phantoms

    dx = int(round(dx))
    truth = phantoms.blob((64, 64), fill=0.2, rng=2)
    observer = phantoms.annotate(truth, bias=0.0, jitter=0.8, rng=10)
    moved = np.zeros_like(observer)
    moved[:, dx:] = observer[:, : observer.shape[1] - dx]
    return numpy_dice(truth, moved)


def threshold_dice(t):
    """Chapter 03's threshold explorer: the 8-bit noisy slice of subject 3 above ``t``."""
    from mlseg import imaging, phantoms

    clean, labels = phantoms.brain_slice(rng=3)
    noisy = imaging.rician_noise(clean, 0.03, rng=3)
    image = np.round(np.clip(noisy / noisy.max(), 0, 1) * 255).astype(np.uint8)
    return numpy_dice(labels == 3, image > t)


@dataclass(frozen=True)
class Slider:
    """A slider of a notebook's explorer and what its readout must say."""

    notebook: str  # in notebooks/
    cell: str  # the explorer's cell contains this; the served copy ends with that cell
    label: str  # the slider's description
    step: float  # what one ArrowRight adds
    readout: str  # regex of the explorer's readout at slider value {value}; group 1: the Dice
    dice: Callable[[float], float] | None  # numpy's Dice at a slider value; None: `kernel`
    keep: tuple = ()  # serve only the code cells containing one of these (default: all)
    presses: int = 2  # ArrowRight presses
    kernel: str = ""  # run in the kernel after the move; prints KERNEL_LINE

    def text(self, value):
        return str(int(value)) if float(self.step).is_integer() else f"{value:g}"

    def pattern(self, value):
        return re.compile(self.readout.format(value=re.escape(self.text(value))))


#: chapter 06: what the cell run after the move prints (numpy's Dice, and whether the mask changed)
KERNEL_LINE = re.compile(r"numpy Dice (\d\.\d+); mask changed: (True|False)")
PROMPT_CHECK = """
import numpy as np
drawn = explorer.details
row, column = drawn["points"][0]
structure = truth == truth[row, column]
mask = drawn["mask"]
alone, _ = promptable.segment(sam, image, points=[(row, column)])
dice = 2 * np.sum(mask & structure) / (np.sum(mask) + np.sum(structure))
print(f"numpy Dice {dice:.10f}; mask changed: {not np.array_equal(mask, alone)}")
"""

SLIDERS = {
    "01-noise": Slider("01_imaging_challenges.ipynb", 'widgets.challenge_explorer("noise"',
                       "noise sigma", 0.01,
                       r"noise sigma = {value}: Dice of the fixed threshold (\d\.\d+)",
                       noise_dice),
    "02-measures": Slider("02_evaluation.ipynb", "widgets.measures_explorer(", "shift → (px)", 1,
                          r"shift \(0, {value}\) px, grow 0 px\s+Dice (\d\.\d+)", shift_dice),
    "03-threshold": Slider("03_classical_methods.ipynb", "widgets.threshold_explorer(",
                           "threshold", 1, r"threshold {value}: Dice (\d\.\d+)", threshold_dice),
    "06-prompt": Slider("06_transformers.ipynb", "widgets.prompt_explorer(", "clicks", 1,
                        r"click \(\d+, \d+\) on [a-z ]+, {value} clicks? \(.*\): Dice (\d\.\d+)",
                        None,
                        keep=("%matplotlib inline", "phantoms.brain_split(", "def score(",
                              "HYBRID_ITERATIONS =", "PROMPT_ITERATIONS =",
                              "widgets.prompt_explorer("),
                        kernel=PROMPT_CHECK, presses=3),
}


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


def _serve_up_to_explorer(slider, folder):
    """Copy the notebook into ``folder``, ending with the explorer's cell (everything it needs
    runs before it), without outputs or saved widget state: only the live explorer can show."""
    nb = json.loads((ROOT / "notebooks" / slider.notebook).read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    end = next(i for i, s in enumerate(sources) if slider.cell in s)
    nb["cells"] = nb["cells"][: end + 1]
    if slider.keep:
        nb["cells"] = [c for c in nb["cells"] if c["cell_type"] == "code"
                       and any(k in "".join(c["source"]) for k in slider.keep)]
        found = ["".join(c["source"]) for c in nb["cells"]]
        missing = [k for k in slider.keep if not any(k in f for f in found)]
        if missing:
            raise AssertionError(f"{slider.notebook} has no code cell with {missing}")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    (folder / slider.notebook).write_text(json.dumps(nb))
    return sum(c["cell_type"] == "code" for c in nb["cells"])


def _api(base, path, method="GET"):
    request = urllib.request.Request(f"{base}{path}?token={TOKEN}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token and private config dirs, serving trimmed copies of
    the notebooks (autosave never touches the committed ones); every cell is rendered (no
    windowing). Stopped through its API. Yields (base URL, {slider id: code cells})."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("lab")
    served = tmp / "served"
    served.mkdir()
    cells = {key: _serve_up_to_explorer(slider, served) for key, slider in SLIDERS.items()}
    config = tmp / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    tracker = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "IPYTHONDIR": str(tmp / "ipy"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
    port = _free_port()
    log = open(tmp / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--allow-root", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={served}",
         "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.open_browser=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _api(base, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start: "
                                       + (tmp / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield base, cells
    finally:
        try:
            _api(base, "/api/shutdown", method="POST")
        except OSError:
            pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(jupyterlab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps"])
        try:
            yield chromium
        finally:
            chromium.close()


def run_to_explorer(page, base, slider, code_cells):
    """Open the served notebook, run all its cells once the kernel is idle, wait until every
    cell has run; return the explorer holding ``slider``."""
    # a workspace of its own: JupyterLab would reopen the notebooks of earlier tests
    workspace = slider.notebook.split("_")[0]
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{slider.notebook}?reset&token={TOKEN}")
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).first.wait_for(
        timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """n => {
            const p = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            return p.length === n && p.every(e => /\\[\\d+\\]/.test(e.textContent));
        }""", arg=code_cells, timeout=600_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=60_000)
    label = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(slider.label)}$"))
    explorer = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .mlseg-explorer").filter(
        has=label)
    explorer.wait_for(state="attached", timeout=60_000)
    explorer.scroll_into_view_if_needed()
    return explorer


def run_in_kernel(page, explorer, code):
    """Add a cell under the explorer's cell, run ``code`` in it; return its output text once a
    line matching :data:`KERNEL_LINE` is there."""
    cell = explorer.locator("xpath=ancestor::div[contains(@class, 'jp-CodeCell')][1]")
    cell.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")                             # insert a cell below, select it
    page.keyboard.press("Enter")                         # edit it
    page.keyboard.insert_text(code.strip())              # no auto-closed brackets
    page.keyboard.press("Shift+Enter")
    new = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").filter(
        has_text="numpy Dice").last
    output = new.locator(".jp-OutputArea-output")
    from playwright.sync_api import expect

    expect(output).to_have_text(KERNEL_LINE, timeout=120_000)
    return output.text_content()


@pytest.mark.parametrize("key", list(SLIDERS))
def test_slider_moves_with_the_keyboard_and_redraws_numpys_dice(jupyterlab, browser, key):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    base, cells = jupyterlab
    slider = SLIDERS[key]
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        explorer = run_to_explorer(page, base, slider, cells[key])
        control = explorer.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(slider.label)}$")))
        value = control.locator(".widget-readout")
        readout = explorer.locator(".mlseg-readout")
        image = explorer.locator("img.mlseg-figure")

        expect(value).to_have_text(re.compile(r"^-?\d+(\.\d+)?$"), timeout=60_000)
        before = float(value.text_content())
        expect(readout).to_have_text(slider.pattern(before), timeout=60_000)
        expect(image).to_have_attribute("src", re.compile(r"^(blob|data):"), timeout=60_000)
        before_text = readout.text_content()
        before_src = image.get_attribute("src")
        explorer.screenshot(path=str(ARTIFACTS / f"{key}_before.png"))

        control.locator(".noUi-handle").first.focus()
        for _ in range(slider.presses):
            page.keyboard.press("ArrowRight")
        after = round(before + slider.presses * slider.step, 6)

        expect(readout).to_have_text(slider.pattern(after), timeout=60_000)
        page.wait_for_function("([el, old]) => el.src && el.src !== old",
                               arg=[image.element_handle(), before_src], timeout=60_000)
        after_text = readout.text_content()
        explorer.screenshot(path=str(ARTIFACTS / f"{key}_after.png"))
        kernel_text = run_in_kernel(page, explorer, slider.kernel) if slider.kernel else ""
    except (AssertionError, PlaywrightError) as error:
        page.screenshot(path=str(ARTIFACTS / f"{key}_failure.png"), full_page=True)
        prompts = page.eval_on_selector_all(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt",
                                            "els => els.map(e => e.textContent)")
        raise AssertionError(f"{key}: {error}\nprompts {prompts}; screenshot in "
                             f"test-artifacts/{key}_failure.png") from error
    finally:
        page.close()
        for session in _api(base, "/api/sessions"):  # one kernel at a time on 2 cores
            _api(base, f"/api/sessions/{session['id']}", method="DELETE")

    assert after_text != before_text
    shown = slider.pattern(after).search(after_text).group(1)
    if slider.dice is None:
        computed = KERNEL_LINE.search(kernel_text)
        assert computed.group(2) == "True", f"the mask did not change: {kernel_text}"
        expected = float(computed.group(1))
    else:
        expected = slider.dice(after)
    decimals = len(shown.split(".")[1])
    assert shown == f"{expected:.{decimals}f}", (after_text, expected)
    assert abs(float(shown) - expected) <= 0.5 * 10.0 ** -decimals + 1e-12
