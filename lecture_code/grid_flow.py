r"""A finite-volume solver for Wasserstein gradient flows on a grid.

The flow of an energy ``f`` is the continuity equation

.. math::

    \partial_t \rho = \operatorname{div}\Big(\rho\, \nabla \frac{\delta f}{\delta\rho}(\rho)\Big)
    \quad \text{on a box, with no flux through its boundary.}

The density is a cell average on a regular grid (1D, 2D or more). On each
face between two neighbouring cells the velocity is the difference quotient
:math:`v = -(\xi_{i+1} - \xi_i)/h` of the first variation
:math:`\xi = \frac{\delta f}{\delta\rho}(\rho)` evaluated at the cell centres,
and the flux carries the density of the upwind cell:
:math:`F = v^+\rho_i + v^-\rho_{i+1}`. Each cell loses what leaves through
its faces and gains what enters, so

* the total mass is conserved exactly (up to rounding): what leaves one cell
  enters its neighbour, and nothing crosses the boundary;
* the density stays non-negative when every step satisfies
  :math:`\tau\,\sum_{\text{faces}} v^{\text{out}}/h \le \text{cfl} \le 1`;
  a step that would break this is split into halves automatically;
* the semi-discrete energy decreases at the discrete rate
  :math:`\sum_{\text{faces}} \rho_{\text{upwind}}\, v^2\, |\text{cell}|`,
  the discrete form of :math:`\int |\nabla\xi|^2\rho\,dx`, which the solver
  records (:attr:`GridFlow.dissipation`).

The scheme is first order in space (upwinding) and, with
``method="euler"``, first order in time; ``method="heun"`` (a convex
combination of two Euler steps) is second order in time and keeps the same
positivity. It is explicit: for diffusions (internal energies) stability
needs :math:`\tau \lesssim h^2 / (2 D)` with ``D`` the diffusion
coefficient, for fourth-order flows :math:`\tau \lesssim h^4`.

The first variation is any callable of the density on the grid; helpers
build it for potential, interaction (quadrature on the grid) and internal
energies, relative entropies, and from a symbolic
:class:`lecture_code.first_variation.FirstVariation`.

References
----------
Santambrogio, *Optimal Transport for Applied Mathematicians* (santambrogio2015),
ch. 8; Peyré, *Entropic approximation of Wasserstein gradient flows*
(peyre2015), for other discretisations.
"""

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import checks

__all__ = [
    "Grid", "GridEnergy", "GridFlow", "potential_energy", "interaction_energy",
    "internal_energy", "entropy", "relative_entropy", "symbolic_variation",
    "solve_flow", "heat_kernel",
]


class Grid:
    r"""A regular grid of cells on the box :math:`\prod_k [a_k, b_k]`.

    Parameters
    ----------
    lower, upper : float or sequence of float
        The corners :math:`a` and :math:`b` of the box (one number each for
        a 1D grid).
    n : int or sequence of int
        The number of cells along each axis, at least 2.

    Attributes
    ----------
    dim : int
    shape : tuple of int
        The shape of a density array.
    h : ndarray, shape (dim,)
        The cell widths :math:`h_k = (b_k - a_k)/n_k`.
    cell_volume : float
    centres : tuple of ndarray
        The cell centres along each axis.
    points : tuple of ndarray
        The coordinates of every cell centre, each of shape ``shape``
        (``indexing="ij"``); for a 1D grid a 1-tuple.

    Raises
    ------
    ValueError
        When an axis has fewer than 2 cells or an empty interval.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 4)
    >>> g.centres[0]
    array([0.125, 0.375, 0.625, 0.875])
    """

    def __init__(self, lower, upper, n):
        lower = np.atleast_1d(np.asarray(lower, dtype=float))
        upper = np.atleast_1d(np.asarray(upper, dtype=float))
        ns = tuple(n) if isinstance(n, (list, tuple, np.ndarray)) else (n,)
        if not (lower.ndim == upper.ndim == 1 and len(lower) == len(upper) == len(ns)):
            raise ValueError(
                f"lower, upper and n must have one entry per axis, got {lower.tolist()}, "
                f"{upper.tolist()}, {ns}")
        self.n = tuple(checks.integer(f"n[{k}]", m, minimum=2) for k, m in enumerate(ns))
        if not (np.isfinite(lower).all() and np.isfinite(upper).all() and (upper > lower).all()):
            raise ValueError(
                f"the box must satisfy lower < upper on every axis, got lower={lower.tolist()}, "
                f"upper={upper.tolist()}")
        self.lower, self.upper = lower, upper
        self.dim = len(self.n)
        self.shape = self.n
        self.h = (upper - lower) / np.array(self.n)
        self.cell_volume = float(np.prod(self.h))
        self.centres = tuple(lower[k] + (np.arange(m) + 0.5) * self.h[k]
                             for k, m in enumerate(self.n))
        self.points = tuple(np.meshgrid(*self.centres, indexing="ij"))

    @property
    def size(self):
        return int(np.prod(self.n))

    def integrate(self, values):
        r""":math:`\sum_i u_i\,|\text{cell}|`, the midpoint rule."""
        return float(np.sum(values) * self.cell_volume)

    def check_density(self, name, rho):
        """Return ``rho`` as a float array of the grid's shape, finite, >= 0 and of positive mass."""
        return checks.density_values(name, rho, self.shape)

    def density(self, function):
        r"""Cell values of ``function(*points)``, normalised to mass 1."""
        values = np.broadcast_to(function(*self.points), self.shape).astype(float)
        values = self.check_density("function(*points)", values)
        return values / self.integrate(values)

    def __repr__(self):
        return f"Grid(lower={self.lower.tolist()}, upper={self.upper.tolist()}, n={self.n})"


# --------------------------------------------------------------------------
# energies on the grid
# --------------------------------------------------------------------------
class GridEnergy:
    r"""An energy on the grid: its value and its first variation, both callables of the density.

    Parameters
    ----------
    value : callable
        ``value(rho)`` -> float, :math:`f(\rho)` by quadrature.
    variation : callable
        ``variation(rho)`` -> array of the grid's shape, :math:`\frac{\delta f}{\delta\rho}(\rho)`
        at the cell centres (defined up to an additive constant, which the
        flow ignores).
    name : str

    Energies add (``f + g``) and scale by a number (``2 * f``).
    """

    def __init__(self, value, variation, name="f"):
        self.value = checks.is_callable("value", value)
        self.variation = checks.is_callable("variation", variation)
        self.name = name

    def __add__(self, other):
        if not isinstance(other, GridEnergy):
            return NotImplemented
        return GridEnergy(lambda r: self.value(r) + other.value(r),
                          lambda r: self.variation(r) + other.variation(r),
                          f"{self.name} + {other.name}")

    def __mul__(self, c):
        c = float(c)
        return GridEnergy(lambda r: c * self.value(r), lambda r: c * self.variation(r),
                          f"{c:g} ({self.name})")

    __rmul__ = __mul__

    def __repr__(self):
        return f"<GridEnergy {self.name}>"


def _on_grid(grid, name, V):
    if callable(V):
        values = V(*grid.points)
    else:
        values = V
    return checks.returned_shape(name, np.broadcast_to(values, grid.shape), grid.shape)


def potential_energy(grid, V, name="potential"):
    r"""The potential energy :math:`\int V\rho\,dx`; its first variation is :math:`V`.

    ``V`` is a callable of the coordinates (``V(*grid.points)``) or an array
    of the grid's shape.

    Examples
    --------
    >>> g = Grid(-1.0, 1.0, 4)
    >>> potential_energy(g, lambda x: x**2).variation(np.ones(4))
    array([0.5625, 0.0625, 0.0625, 0.5625])
    """
    Vh = _on_grid(grid, "V", V).copy()
    return GridEnergy(lambda r: grid.integrate(Vh * r), lambda r: Vh, name)


def interaction_energy(grid, k, name="interaction"):
    r"""The interaction energy :math:`\iint k(x,y)\rho(x)\rho(y)\,dx\,dy` by quadrature on the grid.

    .. math::

        \frac{\delta f}{\delta\rho}(x_i) = \sum_j \big(k(x_i, x_j) + k(x_j, x_i)\big)\rho_j\,|\text{cell}|,

    the two terms of the first variation of a kernel that need not be
    symmetric. ``k(x, y)`` takes arrays of shape ``(..., d)`` and returns
    shape ``(...)`` (the convention of :mod:`lecture_code.particles`, so its
    kernels' ``value`` works). The ``N x N`` matrix (``N`` cells) is built
    once; keep ``N`` below a few thousand.
    """
    checks.is_callable("k", k)
    P = np.stack([p.ravel() for p in grid.points], axis=1)       # (N, d)
    N = len(P)
    K = checks.returned_shape("k", k(P[:, None, :], P[None, :, :]), (N, N))
    S = (K + K.T) * grid.cell_volume
    vol = grid.cell_volume

    def value(r):
        flat = r.ravel()
        return float(flat @ K @ flat * vol ** 2)

    return GridEnergy(value, lambda r: (S @ r.ravel()).reshape(grid.shape), name)


def internal_energy(grid, U, U_prime, floor=1e-300, name="internal"):
    r"""The internal energy :math:`\int U(\rho)\,dx`; its first variation is :math:`U'(\rho)`.

    ``U`` and ``U_prime`` are vectorised callables of the density values.
    ``U_prime`` is evaluated at :math:`\max(\rho, \text{floor})` so that
    :math:`\log` stays finite on empty cells.
    """
    checks.is_callable("U", U)
    checks.is_callable("U_prime", U_prime)
    floor = checks.positive_number("floor", floor)
    return GridEnergy(lambda r: grid.integrate(U(r)),
                      lambda r: U_prime(np.maximum(r, floor)), name)


def _xlogx(r):
    return np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)


def entropy(grid, floor=1e-300):
    r"""The entropy :math:`\int\rho\log\rho\,dx`, first variation :math:`\log\rho + 1`; its flow is the heat equation."""
    return internal_energy(grid, _xlogx, lambda r: np.log(r) + 1.0, floor, name="entropy")


def relative_entropy(grid, nu, floor=1e-300):
    r"""The relative entropy :math:`\int\rho\log(\rho/\nu)\,dx`, first variation :math:`\log(\rho/\nu) + 1`.

    Its flow is the Fokker-Planck equation
    :math:`\partial_t\rho = \Delta\rho - \operatorname{div}(\rho\nabla\log\nu)`.
    ``nu`` is a positive callable of the coordinates or a positive array.
    """
    nuh = _on_grid(grid, "nu", nu).copy()
    if not (nuh > 0).all():
        raise ValueError(f"nu must be > 0 on every cell, got minimum {nuh.min():.3g}")
    log_nu = np.log(nuh)
    floor = checks.positive_number("floor", floor)
    return GridEnergy(lambda r: grid.integrate(_xlogx(r) - r * log_nu),
                      lambda r: np.log(np.maximum(r, floor)) + 1.0 - log_nu, "relative entropy")


def _derivative(values, grid, counts):
    """Partial derivatives by repeated second-order central differences."""
    for axis, c in counts:
        for _ in range(c):
            values = np.gradient(values, grid.h[axis], axis=axis, edge_order=2)
    return values


def symbolic_variation(fv, grid, floor=1e-300):
    r"""Turn a symbolic first variation into a callable of the density on ``grid``.

    The local part is evaluated with the derivatives of :math:`\rho` by
    central differences; interaction terms :math:`\int g(x,y)\,dy` (``g``
    linear in :math:`\rho(y)`) by quadrature on the grid. The density is
    raised to ``floor`` before evaluation (logarithms stay finite).

    Parameters
    ----------
    fv : lecture_code.first_variation.FirstVariation
    grid : Grid
        Of the same dimension as ``fv``.
    floor : float

    Returns
    -------
    callable
        ``variation(rho)`` -> array of the grid's shape.
    """
    from . import first_variation as sym

    if not isinstance(fv, sym.FirstVariation):
        raise TypeError(f"fv must be a FirstVariation from first_variation(), got {fv!r}")
    if fv.dim != grid.dim:
        raise ValueError(f"fv has dimension {fv.dim} but grid has dimension {grid.dim}")
    floor = checks.positive_number("floor", floor)
    X, Y = fv.X, fv.Y
    r_x = sym.rho(*X)
    slots, names = [], []
    for der in sorted(fv.local.atoms(sp.Derivative), key=sp.default_sort_key):
        s = sp.Dummy("d")
        counts = [(X.index(v), c) for v, c in der.variable_count]
        slots.append((der, s, counts))
    r_sym = sp.Dummy("r")
    local = fv.local.subs({der: s for der, s, _ in slots}).subs(r_x, r_sym)
    names = [*X, r_sym, *[s for _, s, _ in slots]]
    f_local = sp.lambdify(names, local, modules="numpy")
    K = None
    if fv.nonlocal_integrand != 0:
        r_y = sp.Dummy("ry")
        g = fv.nonlocal_integrand.subs(sym.rho(*Y), r_y)
        kernel = sp.diff(g, r_y)
        if sp.simplify(g - kernel * r_y) != 0 or kernel.has(sym.rho):
            raise ValueError(f"the non-local part must be linear in rho(y), got {fv.nonlocal_integrand}")
        P = [p.ravel() for p in grid.points]
        fk = sp.lambdify([*X, *Y], kernel, modules="numpy")
        N = grid.size
        K = np.broadcast_to(fk(*[p[:, None] for p in P], *[p[None, :] for p in P]), (N, N))
        K = K * grid.cell_volume

    def variation(rho):
        r = np.maximum(np.asarray(rho, dtype=float), floor)
        ders = [_derivative(r, grid, counts) for _, _, counts in slots]
        out = np.broadcast_to(f_local(*grid.points, r, *ders), grid.shape).astype(float)
        if K is not None:
            out = out + (K @ np.asarray(rho, dtype=float).ravel()).reshape(grid.shape)
        return out

    return variation


# --------------------------------------------------------------------------
# the solver
# --------------------------------------------------------------------------
@dataclass
class GridFlow:
    """A computed flow on a grid.

    Attributes
    ----------
    grid : Grid
    times : ndarray, shape (m,)
    rho : ndarray, shape (m, *grid.shape)
        The stored densities.
    energy : ndarray, shape (m,) or None
        :math:`f(\\rho_t)` when an energy was given.
    dissipation : ndarray, shape (m,)
        The discrete :math:`\\int |\\nabla \\frac{\\delta f}{\\delta\\rho}|^2 \\rho\\,dx`
        at the stored times; along the flow :math:`\\frac{d}{dt}f = -` this.
    tau : float
        The step actually used (``t_final / n_steps``).
    n_steps : int
    n_substeps : int
        How many extra steps the positivity condition forced.
    """

    grid: Grid
    times: np.ndarray
    rho: np.ndarray
    energy: np.ndarray | None
    dissipation: np.ndarray
    tau: float
    n_steps: int
    n_substeps: int

    def __len__(self):
        return len(self.times)

    @property
    def mass(self):
        """The mass at each stored time, shape (m,)."""
        return self.rho.reshape(len(self.times), -1).sum(1) * self.grid.cell_volume


class _Scheme:
    """Upwind fluxes, the rate of change, and Euler/Heun steps with positivity splitting."""

    def __init__(self, grid, variation, method, cfl, max_halvings):
        self.grid, self.variation = grid, variation
        self.method, self.cfl, self.max_halvings = method, cfl, max_halvings
        self.extra = 0

    def xi(self, rho):
        xi = checks.returned_shape("first_variation", self.variation(rho), self.grid.shape)
        if not np.isfinite(xi).all():
            raise ValueError(
                "first_variation returned non-finite values (a log of a zero density? "
                "raise the floor of the energy or start from a positive density)")
        return xi

    def rate(self, rho):
        """(d rho/dt, largest outflow speed per cell, discrete dissipation)."""
        g = self.grid
        xi = self.xi(rho)
        rate = np.zeros(g.shape)
        out = np.zeros(g.shape)
        diss = 0.0
        for a in range(g.dim):
            h = g.h[a]
            lo = [slice(None)] * g.dim
            hi = [slice(None)] * g.dim
            lo[a], hi[a] = slice(None, -1), slice(1, None)
            v = -np.diff(xi, axis=a) / h
            vp, vm = np.maximum(v, 0.0), np.minimum(v, 0.0)
            F = vp * rho[tuple(lo)] + vm * rho[tuple(hi)]
            diss += float(np.sum(F * v)) * g.cell_volume
            pad = [(0, 0)] * g.dim
            pad[a] = (1, 1)
            rate -= np.diff(np.pad(F, pad), axis=a) / h
            out += np.pad(vp, [(0, 1) if k == a else (0, 0) for k in range(g.dim)]) / h
            out += np.pad(-vm, [(1, 0) if k == a else (0, 0) for k in range(g.dim)]) / h
        return rate, float(out.max()), diss

    def euler(self, rho, tau):
        rate, speed, _ = self.rate(rho)
        if tau * speed > self.cfl:
            return None
        return rho + tau * rate

    def step(self, rho, tau, depth=0):
        new = self.euler(rho, tau)
        if new is not None and self.method == "heun":
            second = self.euler(new, tau)
            new = None if second is None else 0.5 * (rho + second)
        if new is not None:
            return new
        if depth >= self.max_halvings:
            raise ValueError(
                f"the positivity condition still fails after halving the step {depth} times "
                f"(step {tau:.3g}); the velocity is unbounded: check first_variation or lower tau")
        self.extra += 1
        half = self.step(rho, tau / 2, depth + 1)
        return self.step(half, tau / 2, depth + 1)


def solve_flow(grid, rho0, first_variation, t_final, tau, n_frames=50, method="euler",
               cfl=0.9, max_halvings=20):
    r"""Solve :math:`\partial_t\rho = \operatorname{div}(\rho\nabla\frac{\delta f}{\delta\rho})` on ``grid``.

    .. math::

        \rho_i^{k+1} = \rho_i^k - \frac{\tau}{h}\big(F_{i+1/2} - F_{i-1/2}\big),
        \quad F_{i+1/2} = v^+\rho_i + v^-\rho_{i+1},
        \quad v = -\frac{\xi_{i+1} - \xi_i}{h},

    with :math:`\xi = \frac{\delta f}{\delta\rho}(\rho^k)` and zero flux on the
    boundary (along every axis in dimension > 1).

    Parameters
    ----------
    grid : Grid
    rho0 : array_like, shape grid.shape
        The initial density (>= 0, positive mass; not renormalised).
    first_variation : callable, GridEnergy or FirstVariation
        ``first_variation(rho)`` -> :math:`\frac{\delta f}{\delta\rho}(\rho)`
        on the grid (any additive constant). With a :class:`GridEnergy`, its
        value is recorded too; a symbolic
        :class:`~lecture_code.first_variation.FirstVariation` is turned into a
        callable by :func:`symbolic_variation`.
    t_final : float
        The final time, > 0.
    tau : float
        The time step, > 0; rounded down so that ``t_final / tau`` is an
        integer. Explicit scheme: see the module notes on stability.
    n_frames : int
        How many states to store (evenly spaced in steps, first and last
        included), >= 2.
    method : {"euler", "heun"}
        First or second order in time.
    cfl : float
        In (0, 1]: the largest fraction of a cell's mass that may leave it in
        one step; steps breaking it are halved.
    max_halvings : int
        How many times one step may be halved before giving up.

    Returns
    -------
    GridFlow

    Raises
    ------
    TypeError, ValueError
        For a density that is negative somewhere, not of the grid's shape or
        of zero mass; a first variation returning the wrong shape or
        non-finite values; bad ``t_final``, ``tau``, ``n_frames``,
        ``method`` or ``cfl``.

    References
    ----------
    santambrogio2015, ch. 8.

    Examples
    --------
    A uniform density is a steady state of the heat equation:

    >>> g = Grid(0.0, 1.0, 8)
    >>> flow = solve_flow(g, np.ones(8), entropy(g), t_final=0.01, tau=0.001)
    >>> float(np.abs(flow.rho[-1] - 1).max())
    0.0
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {grid!r}")
    rho = grid.check_density("rho0", rho0)
    from .first_variation import FirstVariation

    if isinstance(first_variation, FirstVariation):
        first_variation = symbolic_variation(first_variation, grid)
    energy = first_variation if isinstance(first_variation, GridEnergy) else None
    variation = energy.variation if energy is not None else first_variation
    checks.is_callable("first_variation", variation)
    t_final = checks.positive_number("t_final", t_final)
    tau = checks.positive_number("tau", tau)
    n_frames = checks.integer("n_frames", n_frames, minimum=2)
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    cfl = checks.positive_number("cfl", cfl)
    if cfl > 1:
        raise ValueError(f"cfl must lie in (0, 1] to keep densities non-negative, got {cfl}")
    max_halvings = checks.integer("max_halvings", max_halvings, minimum=0)
    n_steps = max(1, math.ceil(t_final / tau - 1e-9))
    tau = t_final / n_steps
    keep = set(np.unique(np.linspace(0, n_steps, min(n_frames, n_steps + 1)).round().astype(int)).tolist())
    scheme = _Scheme(grid, variation, method, cfl, max_halvings)
    times, states, values, diss = [], [], [], []

    def record(k, r):
        times.append(k * tau)
        states.append(r.copy())
        diss.append(scheme.rate(r)[2])
        if energy is not None:
            values.append(float(energy.value(r)))

    record(0, rho)
    for k in range(1, n_steps + 1):
        rho = scheme.step(rho, tau)
        if k in keep:
            record(k, rho)
    return GridFlow(grid, np.array(times), np.array(states),
                    np.array(values) if energy is not None else None, np.array(diss),
                    tau, n_steps, scheme.extra)


def heat_kernel(grid, t, x0=0.0):
    r"""The heat kernel :math:`(4\pi t)^{-d/2} e^{-|x - x_0|^2/(4t)}` at the cell centres.

    The solution of :math:`\partial_t\rho = \Delta\rho` on the whole space
    started from a Dirac mass at :math:`x_0`; shifted in time it is the
    exact solution started from a Gaussian of variance :math:`2 t_0`.
    """
    t = checks.positive_number("t", t)
    x0 = np.broadcast_to(np.asarray(x0, dtype=float), (grid.dim,))
    sq = sum((p - c) ** 2 for p, c in zip(grid.points, x0))
    return np.exp(-sq / (4 * t)) / (4 * np.pi * t) ** (grid.dim / 2)
