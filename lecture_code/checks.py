"""Input checks shared by every module.

Each check raises ``ValueError`` (or ``TypeError`` for a wrong kind of
object) whose message names the argument, the value received and what is
allowed, and returns the cleaned value, so that a public function can start
with a few lines of checks and then trust its inputs.
"""

import numbers

import numpy as np


def _show(value, limit=60):
    """A short representation of a received value for an error message."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def real_array(name, value, expected):
    """Return ``value`` as a float array, or raise ``TypeError`` naming ``name``.

    Strings, objects, booleans and complex numbers are refused;
    ``expected`` says what was wanted, for the message.
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "iuf":
            raise TypeError
        return raw.astype(float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {expected}, got {_show(value)}") from None


def positive_number(name, value):
    """Return ``value`` as a float after checking it is finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number > 0, got {_show(value)}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def nonnegative_number(name, value):
    """Return ``value`` as a float after checking it is finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {_show(value)}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def real_number(name, value):
    """Return ``value`` as a float after checking it is a finite real number (any sign)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def integer(name, value, minimum=None, maximum=None):
    """Return ``value`` as an int after checking its kind and its range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def particles(name, X, dim=None):
    """Return particle positions as a float array of shape ``(n, d)``.

    Checks that ``X`` is two-dimensional, holds at least one particle, has
    ``dim`` columns when ``dim`` is given, and contains only finite numbers.
    """
    array = real_array(name, X, "an array of particle positions of shape (n, d)")
    if array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n, d) with one row per particle, "
            f"got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one particle, got shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} must have d >= 1 columns, got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{name} must contain only finite numbers, got {array[row].tolist()} "
            f"in row {row} ({int(bad.sum())} non-finite entries in all)"
        )
    return array


def returned_shape(name, value, shape):
    """Check that a user-supplied callable ``name`` returned an array of ``shape``."""
    array = np.asarray(value, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(
            f"{name} must return an array of shape {tuple(shape)}, got shape {array.shape}"
        )
    return array


def is_callable(name, value):
    """Check that ``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_show(value)}")
    return value


def density_values(name, values, shape, total=None, rtol=1e-9):
    """Return grid values of a density (or of cell masses) as a float array.

    Checks the shape, that every entry is finite and >= 0, that the total is
    positive and, when ``total`` is given, that the entries sum to it.
    """
    array = real_array(name, values, f"an array of shape {tuple(shape)}")
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have the grid's shape {tuple(shape)}, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} must contain only finite numbers, got {int(bad.sum())} non-finite entries")
    if (array < 0).any():
        i = np.unravel_index(int(np.argmin(array)), array.shape)
        raise ValueError(
            f"{name} must be a density (>= 0 everywhere), got {array[i]:.3g} at index "
            f"{tuple(int(j) for j in i)} ({int((array < 0).sum())} negative cells)")
    if array.sum() <= 0:
        raise ValueError(f"{name} must have positive mass, got total {array.sum():g}")
    if total is not None and abs(array.sum() - total) > rtol * total:
        raise ValueError(f"{name} must sum to {total:g}, got sum {array.sum()!r}")
    return array
