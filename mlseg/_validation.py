"""Input validation helpers shared by the library.

Each helper is named for what it checks and raises ``TypeError``/``ValueError`` whose message
names the argument, what it got and what was expected. The same mistake gives the same error
everywhere: a value of the wrong *type* (a float or a bool where an integer is expected, a string
where an array is expected) is a ``TypeError``; a value of the right type but outside what is
allowed (a negative size, a wrong number of axes) is a ``ValueError``.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_array(name, value, *, min_ndim=1, max_ndim=3):
    """Return ``value`` as a numeric or bool ndarray with ``min_ndim..max_ndim`` axes."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}")
    array = np.asarray(value)
    if array.dtype == object or not (
        array.dtype == bool or np.issubdtype(array.dtype, np.number)
    ):
        raise TypeError(f"{name} must be a numeric or boolean array, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real-valued, got dtype {array.dtype}")
    if not min_ndim <= array.ndim <= max_ndim:
        raise ValueError(
            f"{name} must have {min_ndim} to {max_ndim} dimensions, got {array.ndim} "
            f"(shape {array.shape})"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    return array


def as_image(name, value, *, min_ndim=1, max_ndim=3):
    """Return ``value`` as a numeric or bool ndarray of finite values (an image to process).

    The dtype is kept (a bool image stays bool); callers convert it as they need.

    Examples
    --------
    >>> as_image("image", [[0, 1], [2, 3]]).shape
    (2, 2)
    >>> as_image("image", [[0, float("nan")]])
    Traceback (most recent call last):
    ...
    ValueError: image must not contain NaN or infinity
    """
    array = as_array(name, value, min_ndim=min_ndim, max_ndim=max_ndim)
    check_finite(name, array)
    return array


def _integer_range(low, high):
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low is not None:
        return f"an integer >= {low}"
    if high is not None:
        return f"an integer <= {high}"
    return "an integer"


def as_int(name, value, *, low=None, high=None):
    """Return ``value`` as a Python ``int``, checking it is an integer within ``low..high``.

    Python and numpy integers are accepted. Anything else is a ``TypeError`` — floats too, even
    whole ones such as ``64.0``, and ``bool`` (``True`` is not a size). An integer outside
    ``low..high`` (both inclusive, ``None`` for no bound) is a ``ValueError``.

    Examples
    --------
    >>> as_int("size", np.int64(64), low=8)
    64
    >>> as_int("size", 64.0, low=8)
    Traceback (most recent call last):
    ...
    TypeError: size must be an integer >= 8, got 64.0 (float)
    >>> as_int("axis", 3, low=0, high=2)
    Traceback (most recent call last):
    ...
    ValueError: axis must be an integer from 0 to 2, got 3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {_integer_range(low, high)}, got {value!r} "
                        f"({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_integer_range(low, high)}, got {value}")
    return value


def as_shape(name, value, *, min_ndim=1, max_ndim=3, low=1):
    """Return ``value`` as a tuple of ``min_ndim..max_ndim`` integers, each ``>= low``.

    A grid shape such as ``(64, 64)`` by default; with ``low=None`` any integers (e.g. a shift in
    voxels). A single integer or a non-sequence is a ``TypeError``, as is any entry that is not an
    integer (:func:`as_int`); a wrong number of entries or an entry below ``low`` is a
    ``ValueError``.

    Examples
    --------
    >>> as_shape("shape", [64, np.int64(32)])
    (64, 32)
    >>> as_shape("shape", 64)
    Traceback (most recent call last):
    ...
    TypeError: shape must be 1 to 3 integers >= 1 (one per axis), got the single value 64
    >>> as_shape("shape", (8, 0))
    Traceback (most recent call last):
    ...
    ValueError: shape[1] must be an integer >= 1, got 0
    """
    count = str(min_ndim) if min_ndim == max_ndim else f"{min_ndim} to {max_ndim}"
    what = f"{count} integers{'' if low is None else f' >= {low}'} (one per axis)"
    if isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{name} must be {what}, got the single value {value!r}")
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    entries = tuple(value)
    if not min_ndim <= len(entries) <= max_ndim:
        raise ValueError(f"{name} must be {what}, got {len(entries)} entries: {value!r}")
    return tuple(as_int(f"{name}[{i}]", v, low=low) for i, v in enumerate(entries))


def check_finite(name, array):
    """Raise ``ValueError`` if a float array holds NaN or infinity."""
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"{name} must not contain NaN or infinity")


def as_mask(name, value):
    """Return ``value`` as a bool array; only 0/1 (or False/True) values are accepted."""
    array = as_array(name, value)
    if array.dtype == bool:
        return array
    check_finite(name, array)
    bad = (array != 0) & (array != 1)
    if bad.any():
        examples = np.unique(array[bad])[:3].tolist()
        raise ValueError(
            f"{name} must be a binary mask holding only 0 and 1, got values such as {examples}; "
            "for a label map use evaluate(..., labels=...) or compare with `labels == k` first"
        )
    return array.astype(bool)


def as_mask_pair(reference, prediction):
    """Both masks as bool arrays of one shape (the reference-first convention of the course)."""
    reference = as_mask("reference", reference)
    prediction = as_mask("prediction", prediction)
    check_same_shape(reference, prediction)
    return reference, prediction


def as_label_map(name, value):
    """Return ``value`` as an integer label map (bool or integer dtype, or integral floats)."""
    array = as_array(name, value)
    if array.dtype == bool:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        check_finite(name, array)
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f"{name} must hold integer labels, got non-integer values")
        return array.astype(np.int64)
    return array


def check_same_shape(reference, prediction, names=("reference", "prediction")):
    """Raise ``ValueError`` unless two arrays have exactly the same shape (no broadcasting)."""
    if reference.shape != prediction.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {reference.shape} and "
            f"{prediction.shape}"
        )


def as_spacing(spacing, ndim):
    """Return ``spacing`` as ``ndim`` positive finite floats (``None`` means all ones)."""
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, numbers.Real) and not isinstance(spacing, bool):
        raise TypeError(
            f"spacing must be a sequence of {ndim} voxel sizes in mm (one per axis), "
            f"got the scalar {spacing!r}"
        )
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise TypeError(
            f"spacing must be a sequence of {ndim} numbers (mm per axis), got {spacing!r}"
        ) from None
    if len(values) != ndim:
        raise ValueError(
            f"spacing must have one entry per axis ({ndim}), got {len(values)}: {spacing!r}"
        )
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing must be positive and finite, got {spacing!r}")
    return values


def as_real(name, value, *, low=None, high=None, low_inclusive=True):
    """Return ``value`` as a float, checking it is a finite real number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(name, value, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
