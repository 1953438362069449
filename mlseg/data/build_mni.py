"""Maintainer script: derive ``mni_icbm152_2mm.npz`` from the MNI ICBM152 2009a templates.

The templates (T1, grey- and white-matter probability maps, 197×233×189 at 1 mm) ship inside the
nilearn wheel as ``nilearn/datasets/data/mni_icbm152_{t1,gm,wm}_tal_nlin_sym_09a_converted.nii.gz``.
This script is NOT used at run time and needs nibabel plus either an installed nilearn or a
nilearn wheel file:

    python -m mlseg.data.build_mni                     # from an installed nilearn
    python -m mlseg.data.build_mni --wheel nilearn-0.14.1-py3-none-any.whl

What it writes (all uint8, arrays in the course's axis order (S→I, A→P, L→R), 2 mm voxels):

* ``t1``  — the T1 template, 0..255
* ``gm``, ``wm``, ``csf`` — tissue probabilities × 255. CSF is not in the templates:
  it is approximated as "brain mask − GM − WM", the brain mask being the filled, slightly dilated
  GM+WM region (so ventricles and a rim of sulcal CSF are included).
* ``spacing`` (2, 2, 2) and ``source`` (a provenance string).

Why 2 mm: the file is about 0.7 MB (1 mm would be about 5 MB in every install and every clone),
and the course's 128-pixel slices cover about 200 mm, i.e. 1.6 mm per pixel, so 1-mm detail would
mostly be interpolated away.
"""

from __future__ import annotations

import argparse
import gzip
import zipfile
from pathlib import Path

import numpy as np

NAMES = {k: f"nilearn/datasets/data/mni_icbm152_{k}_tal_nlin_sym_09a_converted.nii.gz"
         for k in ("t1", "gm", "wm")}
OUT = Path(__file__).with_name("mni_icbm152_2mm.npz")


def _load(name, wheel):
    import nibabel as nib

    if wheel is not None:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(NAMES[name])
        image = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    else:
        import importlib.resources

        import nilearn

        path = importlib.resources.files(nilearn) / NAMES[name].split("/", 1)[1]
        image = nib.load(str(path))
    array = np.asarray(image.get_fdata(), dtype=np.float32)
    if not np.allclose(image.header.get_zooms()[:3], 1.0):
        raise ValueError(f"{name}: expected 1 mm voxels, got {image.header.get_zooms()}")
    # RAS (x, y, z) -> course order (S->I, A->P, L->R)
    return array.transpose(2, 1, 0)[::-1, ::-1, :]


def build(wheel=None, out=OUT):
    from scipy import ndimage as ndi

    t1, gm, wm = (_load(k, wheel) / 255.0 for k in ("t1", "gm", "wm"))
    tissue = gm + wm
    ball = ndi.generate_binary_structure(3, 1)
    brain = ndi.binary_closing(tissue > 0.3, ball, iterations=3)
    brain = ndi.binary_fill_holes(brain)
    brain = ndi.binary_dilation(brain, ball, iterations=2)
    brain_soft = ndi.gaussian_filter(brain.astype(np.float32), 0.7)
    csf = np.clip(brain_soft - tissue, 0.0, 1.0)
    # 1 mm -> 2 mm: average 2×2×2 blocks (partial volume, as a scanner would)
    def down(a):
        s = tuple(n - n % 2 for n in a.shape)
        a = a[: s[0], : s[1], : s[2]]
        return a.reshape(s[0] // 2, 2, s[1] // 2, 2, s[2] // 2, 2).mean(axis=(1, 3, 5))

    arrays = {k: down(v) for k, v in {"t1": t1, "gm": gm, "wm": wm, "csf": csf}.items()}
    # crop to the head (T1 signal), keeping a 2-voxel margin
    head = arrays["t1"] > 0.05
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(head.any(axis=other))
        box.append(slice(max(0, hits[0] - 2), hits[-1] + 3))
    arrays = {k: np.round(np.clip(v[tuple(box)], 0, 1) * 255).astype(np.uint8)
              for k, v in arrays.items()}
    np.savez_compressed(
        out, **arrays, spacing=np.array([2.0, 2.0, 2.0]),
        source=np.array("MNI ICBM152 2009a nonlinear symmetric (T1, GM, WM) from the nilearn "
                        "wheel; 2x2x2 block means; CSF = brain mask - GM - WM; axes S-I, A-P, L-R"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build mlseg/data/mni_icbm152_2mm.npz")
    parser.add_argument("--wheel", default=None, help="a nilearn wheel file to read from")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    path = build(args.wheel, Path(args.out))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
