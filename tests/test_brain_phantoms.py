"""The simulated brains: exact labels, seeded, offline, faithful to the bundled template."""

import subprocess
import sys

import numpy as np
import pytest

from mlseg import phantoms

STILL = {"rotation": 0.0, "scale": 0.0, "shift": 0.0, "elastic": 0.0}


def test_same_seed_same_subject_bit_for_bit_and_another_seed_differs():
    a = phantoms.brain_slice(rng=5, lesion=True)
    b = phantoms.brain_slice(rng=5, lesion=True)
    c = phantoms.brain_slice(rng=6, lesion=True)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    v1 = phantoms.brain_volume(spacing=(4, 4, 4), rng=2)
    v2 = phantoms.brain_volume(spacing=(4, 4, 4), rng=np.random.default_rng(2))
    assert np.array_equal(v1[0], v2[0]) and np.array_equal(v1[1], v2[1])


def test_labels_are_the_dominant_tissue_and_the_image_is_their_mixture():
    image, labels, fractions = phantoms.brain_slice(rng=1, lesion=True, fractions=True)
    assert fractions.shape == (5, 128, 128)
    np.testing.assert_allclose(fractions.sum(axis=0), 1, atol=1e-5)
    assert np.array_equal(labels, fractions.argmax(axis=0))
    subject = phantoms.draw_subject(1)
    np.testing.assert_allclose(image, np.tensordot(subject.intensities, fractions, axes=1),
                               atol=1e-5)
    assert set(np.unique(labels)) == {0, 1, 2, 3, 4}
    # T1 contrast: white matter brighter than grey matter brighter than CSF
    means = [image[labels == k].mean() for k in (1, 2, 3)]
    assert means[0] < means[1] < means[2]


def test_lesion_only_when_asked_and_always_visible_in_the_slice():
    for seed in range(5):
        assert 4 not in phantoms.brain_slice(rng=seed)[1]
        for axis in (0, 1, 2):
            assert (phantoms.brain_slice(rng=seed, axis=axis, lesion=True)[1] == 4).sum() > 5


def test_without_deformation_the_volume_is_the_template_itself():
    tissues, spacing = phantoms._template()
    image, labels, fractions = phantoms.brain_volume(spacing=tuple(spacing), rng=0,
                                                     fractions=True, **STILL)
    expected = tissues / np.maximum(tissues.sum(axis=0), 1)
    np.testing.assert_allclose(fractions[1:4], expected, atol=1e-6)
    assert labels.shape == tissues.shape[1:]


def test_anatomy_varies_between_subjects_but_stays_a_brain():
    from mlseg import metrics

    _, reference = phantoms.brain_slice(rng=0, **STILL)
    for seed in range(1, 4):
        _, labels = phantoms.brain_slice(rng=seed)
        dice = metrics.dice(reference == 3, labels == 3)
        assert 0.4 < dice < 0.98  # different subjects, same organ


def test_thick_slices_and_grid_sizes_follow_spacing():
    image, labels = phantoms.brain_volume(spacing=(6, 2, 2), rng=0)
    extent = phantoms.template_extent()
    assert image.shape == (round(extent[0] / 6), round(extent[1] / 2), round(extent[2] / 2))
    assert phantoms.brain_slice(size=64, rng=0)[0].shape == (64, 64)


def test_contrast_pulls_tissue_intensities_together():
    low = phantoms.draw_subject(3, contrast=0.2).intensities
    full = phantoms.draw_subject(3, contrast=1.0).intensities
    assert abs(low[3] - low[2]) < 0.35 * abs(full[3] - full[2])


def test_cohort_is_reproducible_with_the_asked_share_of_lesions():
    cohort = phantoms.brain_cohort(6, rng=4, lesion=0.5, progress=False, size=48)
    again = phantoms.brain_cohort(6, rng=4, lesion=0.5, progress=False, size=48)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(cohort, again))
    assert sum(4 in labels for _, labels in cohort) == 3


def test_simulation_runs_with_the_network_cut():
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.socket.connect_ex = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from mlseg import phantoms\n"
        "phantoms.brain_slice(rng=0, lesion=True)\n"
        "phantoms.brain_volume(spacing=(4, 4, 4), rng=0)\n"
        "phantoms.brain_cohort(2, rng=0, progress=False, size=32)\n"
        "print('offline ok')\n"
    )
    cmd = [sys.executable, "-c", code]
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn", *cmd]  # a real network namespace without interfaces
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "offline ok"


@pytest.mark.parametrize("call, error, words", [
    (lambda: phantoms.brain_slice(size=4), ValueError, "size"),
    (lambda: phantoms.brain_slice(size=64.0), TypeError, "size"),
    (lambda: phantoms.brain_slice(axis=3), ValueError, "axis"),
    (lambda: phantoms.brain_slice(position=1.5), ValueError, "position"),
    (lambda: phantoms.brain_slice(rotation=-1), ValueError, "rotation"),
    (lambda: phantoms.brain_slice(contrast=float("nan")), ValueError, "contrast"),
    (lambda: phantoms.brain_volume(spacing=(2, 2)), ValueError, "spacing"),
    (lambda: phantoms.brain_volume(spacing=(0.1, 2, 2)), ValueError, "spacing"),
    (lambda: phantoms.brain_cohort(0), ValueError, "n"),
    (lambda: phantoms.brain_cohort(2, kind="movie"), ValueError, "kind"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


GUARD = '''
import ipaddress, socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"network access attempted: {address}")
        except ValueError:
            if host != "localhost":
                raise OSError(f"network access attempted: {address}") from None
    return _connect(self, address)


socket.socket.connect = _loopback_only
'''


def test_chapter_01_notebook_runs_with_the_network_cut(tmp_path):
    """Every code cell of the chapter, run as one script in a process that can reach nothing
    but loopback (its own network namespace where available, and a socket guard always)."""
    import json
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    notebook = json.loads((root / "notebooks" / "01_imaging_challenges.ipynb").read_text())
    lines = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            lines += [line for line in source.splitlines() if not line.lstrip().startswith("%")]
    script = tmp_path / "chapter01.py"
    script.write_text("\n".join(lines) + "\nprint('chapter ran offline')\n")
    (tmp_path / "sitecustomize.py").write_text(GUARD)
    cmd = [sys.executable, str(script)]
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        # a network namespace of our own with only the loopback interface up
        cmd = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "chapter ran offline" in out.stdout


def test_the_shared_split_keeps_test_subjects_apart_and_fixed():
    split = phantoms.brain_split(n_train=6, n_test=4, size=32, progress=False)
    bigger = phantoms.brain_split(n_train=9, n_test=4, size=32, progress=False)
    assert split.train_images.shape == (6, 32, 32) and split.test_labels.shape == (4, 32, 32)
    assert split.train_images.dtype == np.float32 and split.test_labels.dtype == np.uint8
    # more training subjects leave the held-out subjects unchanged, bit for bit
    assert np.array_equal(split.test_images, bigger.test_images)
    # no test subject is a training subject
    for test in split.test_labels:
        assert not any(np.array_equal(test, train) for train in bigger.train_labels)
    # half the subjects of each part have a lesion; the noise is Rician on the clean slices
    assert (split.test_labels == 4).reshape(4, -1).any(axis=1).sum() == 2
    assert not np.array_equal(split.train_images, split.train_clean)
    assert np.abs(split.train_images - split.train_clean).mean() < 0.05
    with pytest.raises(ValueError, match="read-only"):
        split.train_images[0, 0, 0] = 1.0
    with pytest.raises(TypeError, match="n_train"):
        phantoms.brain_split(n_train=2.0)
