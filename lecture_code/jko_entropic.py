r"""The entropic JKO scheme on a grid (Peyré 2015), in the log domain.

A density on a regular grid of :math:`\mathbb{R}^d` (``d`` = 1 or 2 here, any
``d`` works) is a non-negative array ``p`` of cell masses summing to 1.
With the cost :math:`c(x, y) = |x - y|^2/2`, the entropic JKO step is

.. math::

    q = \operatorname*{arg\,min}_q \; \min_{\pi \in \Pi(p, q)}
        \langle c, \pi\rangle + \varepsilon \sum_{ij}\pi_{ij}(\log\pi_{ij} - 1)
        + \tau f(q),

that is :math:`\min_\pi \mathrm{KL}(\pi\,|\,\xi) + \frac{\tau}{\varepsilon} f(\pi^\top\mathbf 1)`
over plans with first marginal :math:`p`, where :math:`\xi = e^{-c/\varepsilon}`
is the Gibbs kernel. Writing :math:`\pi = \operatorname{diag}(a)\,\xi\,\operatorname{diag}(b)`,
the KL-proximal Sinkhorn-like iterations are

.. math::

    a \leftarrow \frac{p}{\xi b}, \qquad
    b \leftarrow \frac{\operatorname{prox}^{\mathrm{KL}}_{\tau f/\varepsilon}(\xi^\top a)}{\xi^\top a}.

For :math:`f(q) = \sum_i q_i V_i + \beta\sum_i q_i \log(q_i / h^d)` (potential plus
entropy of the density :math:`q_i/h^d`) the KL proximal map is explicit:
:math:`\log q = (\log\tilde q - \sigma V - \sigma\beta(1 - d\log h))/(1 + \sigma\beta)`,
:math:`\sigma = \tau/\varepsilon`.

An interaction :math:`\sum_{ij} q_i q_j W(x_i - x_j)` adds :math:`2W * q` to
:math:`V` in that formula, evaluated at the current iterate (so the proximal
map stays explicit); a converged step is fully implicit.

Two facts keep it fast and stable:

* the kernel is separable, :math:`\xi = \xi_1 \otimes \dots \otimes \xi_d`,
  so applying it is a matrix product along each axis (:math:`O(N^{d+1})`
  instead of :math:`O(N^{2d})` for ``N`` points per axis);
* all quantities are kept as logarithms; each axis product is computed as
  :math:`\log\sum_k e^{-c_{ik}/\varepsilon + v_k}` by shifting with the
  row maximum and a matrix product, and the few entries where the shifted
  sum underflows are recomputed by an exact log-sum-exp, so small
  :math:`\varepsilon` never produces ``0``, ``inf`` or ``nan``.

The entropic step is biased: for small :math:`\varepsilon` it behaves like
the JKO step of :math:`f + \frac{\varepsilon}{2\tau}\int\rho\log\rho`, i.e.
extra diffusion :math:`\varepsilon/(2\tau)`.

References
----------
Peyré, *Entropic approximation of Wasserstein gradient flows*, SIAM J.
Imaging Sci. 8 (2015); Peyré and Cuturi, *Computational Optimal Transport* (2019).
"""

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import fftconvolve

from . import checks

__all__ = ["Grid", "make_grid", "gibbs_log_apply", "EntropicStep", "entropic_jko_step",
           "entropic_jko_flow", "interaction_operator", "gaussian_on_grid", "grid_moments"]

_UNDERFLOW = 1e-250
_SMALL = 2 ** 15  # few rows or few kernel entries per axis pass: exact log-sum-exp


@dataclass(frozen=True)
class Grid:
    """A regular grid: one increasing, evenly spaced coordinate array per axis.

    ``axes[k]`` has shape ``(N_k,)``; all axes share the spacing ``h``.
    """

    axes: tuple

    def __post_init__(self):
        if not isinstance(self.axes, tuple) or not self.axes:
            raise TypeError(f"axes must be a non-empty tuple of 1D arrays, got {self.axes!r}")
        steps = []
        for k, axis in enumerate(self.axes):
            raw = np.asarray(axis)
            if raw.dtype.kind not in "iuf":
                raise TypeError(f"axes[{k}] must be a 1D array of numbers, got {checks._show(axis)}")
            axis = raw.astype(float)
            if not np.isfinite(axis).all():
                raise ValueError(f"axes[{k}] must contain only finite numbers")
            if axis.ndim != 1 or axis.size < 2:
                raise ValueError(f"axes[{k}] must be a 1D array of >= 2 points, got shape {axis.shape}")
            gaps = np.diff(axis)
            if not np.allclose(gaps, gaps[0], rtol=1e-9, atol=0) or gaps[0] <= 0:
                raise ValueError(f"axes[{k}] must be increasing and evenly spaced")
            steps.append(gaps[0])
        if not np.allclose(steps, steps[0], rtol=1e-9):
            raise ValueError(f"all axes must share one spacing, got spacings {steps}")

    @property
    def h(self):
        """The spacing."""
        return float(self.axes[0][1] - self.axes[0][0])

    @property
    def shape(self):
        return tuple(len(a) for a in self.axes)

    @property
    def d(self):
        return len(self.axes)

    def mesh(self):
        """Coordinates of the grid points: ``d`` arrays of shape ``self.shape``."""
        return np.meshgrid(*self.axes, indexing="ij")

    def sq_norm(self):
        """:math:`|x|^2` at the grid points, shape ``self.shape``."""
        return sum(c ** 2 for c in self.mesh())


def make_grid(shape, half_width):
    r"""The grid of cell centres of :math:`[-L, L]^d` with ``shape`` cells.

    .. math::

        x_k = -L + (k + \tfrac12) h, \qquad h = 2L / N.

    Parameters
    ----------
    shape : int or tuple of int
        Number of cells per axis (equal counts keep the spacing equal).
    half_width : float
        :math:`L > 0`.

    Examples
    --------
    >>> make_grid(4, 1.0).axes[0].tolist()
    [-0.75, -0.25, 0.25, 0.75]
    """
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape must be an int or a tuple of ints, got {checks._show(shape)}")
    shape = tuple(checks.integer("shape", s, minimum=2) for s in shape)
    L = checks.positive_number("half_width", half_width)
    return Grid(tuple(-L + (np.arange(N) + 0.5) * (2 * L / N) for N in shape))


def _grid(grid):
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid (see make_grid), got {checks._show(grid)}")
    return grid


def _log_kernel_1d(axis, eps):
    return -0.5 * (axis[:, None] - axis[None, :]) ** 2 / eps


def _logsumexp_last(values):
    """log(sum(exp(values))) over the last axis; ``-inf`` for rows of ``-inf``."""
    top = values.max(axis=-1)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.exp(values - top[..., None]).sum(axis=-1)
    out = np.full(total.shape, -np.inf)
    np.log(total, out=out, where=total > 0)
    return out + top


def _apply_axis(logv, logK, coords, axis):
    """log(sum_k exp(logK[i, k] + logv[..., k, ...])) along one axis, stably.

    The values along the axis are split into a fitted quadratic
    ``q(x) = c2 x^2 + c1 x`` (absorbed into the kernel, whose rows are then
    shifted by their maxima) and a residual (shifted by its row maxima), so
    that the matrix product rarely underflows; entries that still do are
    recomputed by an exact log-sum-exp.
    """
    moved = np.moveaxis(logv, axis, -1)
    shape = moved.shape
    rows = moved.reshape(-1, shape[-1])
    if rows.shape[0] < 8 or rows.size * shape[-1] <= _SMALL:
        out = _logsumexp_last(rows[:, None, :] + logK[None, :, :])
        return np.moveaxis(out.reshape(shape), -1, axis)
    finite = np.isfinite(rows)
    profile = np.where(finite, rows, 0.0).sum(0) / np.maximum(finite.sum(0), 1)
    usable = finite.any(0)
    c2 = c1 = 0.0
    if usable.sum() >= 3:
        c2, c1, _ = np.polyfit(coords[usable], profile[usable], 2)
    q = c2 * coords ** 2 + c1 * coords
    tilted = logK + q[None, :]
    kernel_top = tilted.max(axis=1)
    residual = rows - q[None, :]
    top = np.where(finite, residual, -np.inf).max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.exp(residual - top) @ np.exp(tilted - kernel_top[:, None]).T
    out = np.full(total.shape, -np.inf)
    np.log(total, out=out, where=total > 0)
    out += top + kernel_top[None, :]
    weak = total < _UNDERFLOW
    if weak.any():
        i, j = np.nonzero(weak)
        out[i, j] = _logsumexp_last(rows[i] + logK[j])
    return np.moveaxis(out.reshape(shape), -1, axis)


def gibbs_log_apply(logv, grid, eps, _kernels=None):
    r"""Apply the Gibbs kernel in the log domain, one axis at a time.

    .. math::

        (\log \xi v)_i = \log \sum_j \exp\Bigl(-\frac{|x_i - x_j|^2}{2\varepsilon}
            + \log v_j\Bigr),
        \qquad \xi = \xi_1\otimes\dots\otimes\xi_d.

    Parameters
    ----------
    logv : ndarray, shape grid.shape
        :math:`\log v` (``-inf`` allowed for zero entries; NaN and ``+inf``
        are refused).
    grid : Grid
    eps : float
        Regularisation :math:`\varepsilon > 0`.

    Returns
    -------
    ndarray, shape grid.shape

    Raises
    ------
    TypeError, ValueError
        When ``grid`` is not a :class:`Grid`, ``eps`` is not positive, or
        ``logv`` has the wrong shape or holds NaN or ``+inf``.

    Examples
    --------
    On two points at distance 1 with :math:`\varepsilon = 1/2`:
    :math:`\log(1 + e^{-1})` at both.

    >>> g = make_grid(2, 1.0)
    >>> np.allclose(gibbs_log_apply(np.zeros(2), g, 0.5), np.log(1 + np.exp(-1)))
    True
    """
    grid = _grid(grid)
    eps = checks.positive_number("eps", eps)
    try:
        out = np.asarray(logv, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"logv must be an array of shape {grid.shape}, got {checks._show(logv)}") from None
    if out.shape != grid.shape:
        raise ValueError(f"logv must have the grid's shape {grid.shape}, got shape {out.shape}")
    if np.isnan(out).any() or (out == np.inf).any():
        raise ValueError(f"logv must hold finite numbers or -inf (log of 0), got "
                         f"{int((np.isnan(out) | (out == np.inf)).sum())} NaN or +inf entries")
    kernels = _kernels or [_log_kernel_1d(a, eps) for a in grid.axes]
    for axis, logK in enumerate(kernels):
        out = _apply_axis(out, logK, grid.axes[axis], axis)
    return out


@dataclass
class EntropicStep:
    """The result of :func:`entropic_jko_step`.

    ``q`` the new cell masses (the second marginal of the plan, whose first
    marginal is exactly ``p``), ``log_b`` the scaling (for a warm start),
    ``n_iter``, ``converged``, ``history`` the L1 gap between the plan's
    second marginal and its KL-proximal target at each iteration.
    """

    q: np.ndarray
    log_b: np.ndarray
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)


def _density(name, p, grid):
    """Cell masses of a probability on the grid: checked shape, >= 0, sum 1."""
    return checks.density_values(name, p, grid.shape, total=1.0)


def _potential(V, grid):
    if V is None:
        return np.zeros(grid.shape)
    V = np.asarray(V, dtype=float)
    if V.shape != grid.shape:
        raise ValueError(f"V must have the grid's shape {grid.shape}, got shape {V.shape}")
    if not np.isfinite(V).all():
        raise ValueError("V must contain only finite numbers")
    return V


def entropic_jko_step(p, grid, tau, eps, V=None, beta=1.0, log_b=None, tol=1e-9,
                      max_iter=5000, omega=1.0, W=None, _warn=True):
    r"""One entropic JKO step on a grid by KL-proximal Sinkhorn iterations (log domain).

    .. math::

        q = \operatorname*{arg\,min}_q \; \mathrm{OT}_\varepsilon(p, q)
            + \tau\Bigl(\sum_i q_i V_i + \beta \sum_i q_i\log\frac{q_i}{h^d}\Bigr),

    with :math:`\mathrm{OT}_\varepsilon` the entropic transport cost for
    :math:`c = |x - y|^2/2` (module docstring). Iterates until the L1 gap
    between the plan's second marginal and its proximal target is below
    ``tol``. Mass is conserved exactly and ``q > 0``.

    Parameters
    ----------
    p : ndarray, shape grid.shape
        Current cell masses, >= 0, summing to 1.
    grid : Grid
    tau : float
        Step, > 0.
    eps : float
        Entropic regularisation, > 0.
    V : ndarray, shape grid.shape, optional
        Potential at the grid points (zero if omitted).
    W : callable, optional
        An even interaction kernel, ``W(*z)`` for the ``d`` displacement
        coordinates (arrays); adds :math:`\sum_{ij} q_i q_j W(x_i - x_j)` to
        :math:`f`. Its first variation :math:`2 W * q` is evaluated at the
        current iterate inside the iterations (:func:`interaction_operator`),
        so a converged step satisfies the fully implicit optimality condition.
    beta : float
        Entropy weight (diffusion coefficient), >= 0.
    log_b : ndarray, shape grid.shape, optional
        Warm start (the ``log_b`` of the previous step).
    tol : float
        Tolerance on the marginal gap, > 0.
    max_iter : int
        Most iterations; reaching it warns, naming ``max_iter``.
    omega : float
        Over-relaxation of the ``b`` update in log form, in (0, 2):
        :math:`\log b \leftarrow (1 - \omega)\log b + \omega \log b^{\text{new}}`;
        1 is the plain iteration, values near 1.8 often need far fewer
        iterations for small :math:`\varepsilon`.

    Returns
    -------
    EntropicStep

    Raises
    ------
    ValueError, TypeError
        When ``tau``, ``eps`` or ``tol`` is not positive, ``beta`` negative,
        ``p`` negative, not summing to 1 or not of the grid's shape, or
        ``V``/``log_b`` not of the grid's shape.

    References
    ----------
    Peyré (2015), Algorithm 1.

    Examples
    --------
    The stationary density :math:`\propto e^{-V/\beta}` barely moves (only the
    entropic bias and the grid change it):

    >>> g = make_grid(64, 6.0)
    >>> p = gaussian_on_grid(g, 0.0, 1.0)
    >>> step = entropic_jko_step(p, g, 0.5, 0.02, V=g.sq_norm() / 2)
    >>> bool(np.abs(step.q - p).sum() < 0.01)
    True
    """
    grid = _grid(grid)
    p = _density("p", p, grid)
    tau = checks.positive_number("tau", tau)
    eps = checks.positive_number("eps", eps)
    beta = checks.nonnegative_number("beta", beta)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=1)
    omega = checks.positive_number("omega", omega)
    if omega >= 2:
        raise ValueError(f"omega must lie in (0, 2), got {omega!r}")
    V = _potential(V, grid)
    convolve = None if W is None else interaction_operator(W, grid)
    if log_b is None:
        log_b = np.zeros(grid.shape)
    else:
        log_b = np.array(log_b, dtype=float)
        if log_b.shape != grid.shape or not np.isfinite(log_b).all():
            raise ValueError(f"log_b must be a finite array of the grid's shape {grid.shape}, "
                             f"got shape {log_b.shape}")
    kernels = [_log_kernel_1d(a, eps) for a in grid.axes]

    def apply(logv):
        return gibbs_log_apply(logv, grid, eps, _kernels=kernels)

    sigma = tau / eps
    shift = sigma * V + sigma * beta * (1 - grid.d * np.log(grid.h))
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    log_a = log_p - apply(log_b)
    history = []
    for it in range(1, max_iter + 1):
        log_qt = apply(log_a)
        log_marginal = log_b + log_qt
        drift = shift
        if convolve is not None:
            drift = shift + 2 * sigma * convolve(np.exp(log_marginal))
        log_q = (log_qt - drift) / (1 + sigma * beta)
        history.append(float(np.abs(np.exp(log_marginal) - np.exp(log_q)).sum()))
        if history[-1] <= tol:
            return EntropicStep(np.exp(log_marginal), log_b, it, True, history)
        log_b = (1 - omega) * log_b + omega * (log_q - log_qt)
        log_a = log_p - apply(log_b)
    log_marginal = log_b + apply(log_a)
    step = EntropicStep(np.exp(log_marginal), log_b, max_iter, False, history)
    if _warn:
        _warn_unconverged("entropic_jko_step", step, tol, max_iter, stacklevel=2)
    return step


def _warn_unconverged(where, step, tol, max_iter, stacklevel):
    extra = " (return_steps=True returns the records)" if "flow" in where else ""
    warnings.warn(f"{where}: stopped after max_iter={max_iter} iterations with "
                  f"marginal gap {step.history[-1]:.3g} > tol={tol:g}; raise max_iter (or eps); "
                  f"the log is in EntropicStep.history{extra}", RuntimeWarning,
                  stacklevel=stacklevel + 1)


def interaction_operator(W, grid):
    r"""The map :math:`q \mapsto W * q` on a grid, by FFT convolution.

    .. math::

        (W * q)_i = \sum_j W(x_i - x_j)\, q_j .

    Parameters
    ----------
    W : callable
        ``W(*z)`` for ``d`` arrays of displacement coordinates.
    grid : Grid

    Returns
    -------
    callable
        Maps ``q`` of the grid's shape to an array of the grid's shape.

    Raises
    ------
    TypeError, ValueError
        When ``W`` is not callable or returns the wrong shape.

    Examples
    --------
    >>> g = make_grid(3, 1.5)
    >>> conv = interaction_operator(lambda z: z ** 2, g)
    >>> np.round(conv(np.array([0.0, 1.0, 0.0])), 12).tolist()
    [1.0, 0.0, 1.0]
    """
    checks.is_callable("W", W)
    offsets = [grid.h * np.arange(-(N - 1), N) for N in grid.shape]
    kernel = checks.returned_shape("W", W(*np.meshgrid(*offsets, indexing="ij")),
                                   tuple(2 * N - 1 for N in grid.shape))

    def convolve(q):
        return fftconvolve(q, kernel, mode="same")

    return convolve


def entropic_jko_flow(p0, grid, tau, eps, n_steps, V=None, beta=1.0, return_steps=False,
                      **options):
    r"""Iterate :func:`entropic_jko_step` with warm starts: masses :math:`p^0, \dots, p^K`.

    .. math::

        p^{k+1} = \operatorname{JKO}^\varepsilon_\tau(p^k).

    Parameters
    ----------
    p0 : ndarray, shape grid.shape
    grid : Grid
    tau, eps : float
        Step and regularisation, > 0.
    n_steps : int
        :math:`K \ge 0`.
    V, beta, **options
        As in :func:`entropic_jko_step` (``tol``, ``max_iter``, ``omega``,
        ``W``); a step stopped by ``max_iter`` warns (``RuntimeWarning``
        naming the step index and ``max_iter``).
    return_steps : bool
        Also return the :class:`EntropicStep` record (iteration log) of each step.

    Returns
    -------
    flow : list of ndarray
        ``n_steps + 1`` arrays of the grid's shape.
    steps : list of EntropicStep, length n_steps
        Only when ``return_steps`` is true.

    Raises
    ------
    TypeError, ValueError
        As :func:`entropic_jko_step`.

    Examples
    --------
    >>> g = make_grid(32, 5.0)
    >>> flow = entropic_jko_flow(gaussian_on_grid(g, 1.0, 0.5), g, 0.2, 0.01, 2, V=g.sq_norm() / 2)
    >>> [round(float(q.sum()), 12) for q in flow]
    [1.0, 1.0, 1.0]
    """
    grid = _grid(grid)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    flow = [_density("p0", p0, grid)]
    tol = options.get("tol", 1e-9)
    max_iter = options.get("max_iter", 5000)
    steps = []
    log_b = None
    for k in range(n_steps):
        step = entropic_jko_step(flow[-1], grid, tau, eps, V=V, beta=beta, log_b=log_b,
                                 _warn=False, **options)
        if not step.converged:
            _warn_unconverged(f"entropic_jko_flow, step k={k} (of {n_steps})", step, tol,
                              max_iter, stacklevel=2)
        steps.append(step)
        flow.append(step.q)
        log_b = step.log_b
    return (flow, steps) if return_steps else flow


def gaussian_on_grid(grid, mean, var):
    r"""Cell masses of the Gaussian :math:`\mathcal N(m, s I)` at the grid points, normalised.

    .. math::

        p_i \propto \exp\bigl(-|x_i - m|^2 / (2s)\bigr), \qquad \sum_i p_i = 1.

    Examples
    --------
    >>> round(float(gaussian_on_grid(make_grid(8, 4.0), 0.0, 1.0).sum()), 12)
    1.0
    """
    grid = _grid(grid)
    var = checks.positive_number("var", var)
    m = checks.real_array("mean", mean, f"a number or a vector of length {grid.d}")
    if m.shape not in ((), (1,), (grid.d,)):
        raise ValueError(f"mean must be a number or a vector of length grid.d = {grid.d}, "
                         f"got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError(f"mean must be finite, got {m.tolist()}")
    m = np.broadcast_to(m.reshape(-1) if m.ndim else m, (grid.d,))
    r2 = sum((c - mk) ** 2 for c, mk in zip(grid.mesh(), m))
    p = np.exp(-(r2 - r2.min()) / (2 * var))
    return p / p.sum()


def grid_moments(p, grid):
    r"""Mean vector and mean per-axis variance of the cell masses ``p``.

    .. math::

        m = \sum_i p_i x_i, \qquad s = \frac1d \sum_i p_i |x_i - m|^2.

    ``p`` must be cell masses of the grid's shape, >= 0, summing to 1
    (a ``ValueError`` otherwise).

    Examples
    --------
    >>> g = make_grid(2, 1.0)
    >>> m, s = grid_moments(np.array([0.5, 0.5]), g)
    >>> m.tolist(), s
    ([0.0], 0.25)
    """
    grid = _grid(grid)
    p = _density("p", p, grid)
    coords = grid.mesh()
    m = np.array([(p * c).sum() for c in coords])
    s = sum((p * (c - mk) ** 2).sum() for c, mk in zip(coords, m)) / grid.d
    return m, float(s)
