r"""Numerical experiments of exercises 1 and 2: divergences, Dirichlet energy, Fisher information.

Exercise 1 (phi-divergences). For a reference density :math:`\nu > 0` and a
convex :math:`\varphi` with :math:`\varphi(1) = 0`,

.. math::

    D_\varphi(\rho\,|\,\nu) = \int \varphi\Big(\frac{\rho}{\nu}\Big)\,\nu\,dx,
    \qquad \frac{\delta D_\varphi}{\delta\rho} = \varphi'\Big(\frac{\rho}{\nu}\Big),

and its Wasserstein flow :math:`\partial_t\rho = \operatorname{div}(\rho\nabla\varphi'(\rho/\nu))`
is solved by :func:`lecture_code.grid_flow.solve_flow` with
:func:`phi_divergence`. For :math:`\varphi(s) = s\log s` it is the
Fokker-Planck equation, whose particles follow the Langevin diffusion
:math:`dX = -\nabla V(X)\,dt + \sqrt 2\,dW` with :math:`V = -\log\nu`
(:func:`langevin`).

Exercise 2 (Dirichlet energy and Fisher information) on an interval with
reflecting (Neumann) boundaries, :math:`u = \sqrt\rho`:

.. math::

    \mathcal E(\rho) = \int |\partial_x\rho|^2\,dx, \quad
    \frac{\delta\mathcal E}{\delta\rho} = -2\partial_x^2\rho; \qquad
    \mathcal I(\rho) = \int \frac{|\partial_x\rho|^2}{\rho}\,dx = 4\int|\partial_x u|^2\,dx,
    \quad \frac{\delta\mathcal I}{\delta\rho} = -4\frac{\partial_x^2 u}{u}.

:func:`dirichlet_energy` and :func:`fisher_information` discretise both
so that the discrete first variation is the exact gradient of the discrete
energy (divided by the cell width); the Wasserstein flows then decrease the
discrete energy. :func:`l2_flow` solves the :math:`L^2(dx)` flows
:math:`\partial_t\rho = -\delta f/\delta\rho` with linearly implicit steps
that keep the density positive for every step size.

References
----------
jko1998 (the Fokker-Planck equation as a Wasserstein gradient flow);
santambrogio2015, ch. 8; otto2001.
"""

import numpy as np
import ot
from scipy.linalg import eigh_tridiagonal, solve_banded

from . import checks
from .grid_flow import Grid, GridEnergy, GridFlow

__all__ = ["phi_divergence", "chi_squared", "kl_divergence", "langevin", "sample_density",
           "grid_wasserstein", "dirichlet_energy", "fisher_information", "l2_flow",
           "neumann_laplacian", "spectral_gap"]


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def _grid(grid, dim=None):
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a lecture_code.grid_flow.Grid, got {checks._show(grid)}")
    if dim is not None and grid.dim != dim:
        raise ValueError(f"grid must be {dim}-dimensional, got a {grid.dim}-dimensional grid")
    return grid


def _reference(grid, nu):
    values = nu(*grid.points) if callable(nu) else nu
    try:
        values = np.array(np.broadcast_to(values, grid.shape), dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"nu must be a callable of the coordinates or an array of shape "
                         f"{grid.shape}, got {checks._show(nu)}") from None
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ValueError(f"nu must be finite and > 0 on every cell, got minimum "
                         f"{np.nanmin(values):.3g}")
    return values / grid.integrate(values)


# --------------------------------------------------------------------------
# exercise 1
# --------------------------------------------------------------------------
def phi_divergence(grid, nu, phi, phi_prime, name="phi-divergence"):
    r"""The divergence :math:`D_\varphi(\rho|\nu)` on a grid, with its first variation.

    .. math::

        D_\varphi(\rho\,|\,\nu) = \sum_i \varphi\Big(\frac{\rho_i}{\nu_i}\Big)\nu_i\,|\text{cell}|,
        \qquad \frac{\delta D_\varphi}{\delta\rho}(\rho)_i = \varphi'\Big(\frac{\rho_i}{\nu_i}\Big).

    Parameters
    ----------
    grid : Grid
    nu : callable or array_like of shape grid.shape
        The reference density, > 0 on every cell; it is normalised to mass 1
        on the grid.
    phi, phi_prime : callable
        :math:`\varphi` and :math:`\varphi'`, vectorised over arrays of
        ratios :math:`\rho/\nu \ge 0`.
    name : str

    Returns
    -------
    GridEnergy
        ``value(rho)`` and ``variation(rho)``; the normalised reference is
        its attribute ``nu``.

    Raises
    ------
    TypeError
        If ``grid`` is not a Grid or ``phi``/``phi_prime`` is not callable.
    ValueError
        If ``nu`` is not positive and finite on every cell.

    References
    ----------
    santambrogio2015, sec. 7.2.

    Examples
    --------
    The divergence of the reference from itself is :math:`\varphi(1) = 0`:

    >>> g = Grid(0.0, 1.0, 4)
    >>> D = chi_squared(g, np.ones(4))
    >>> D.value(np.ones(4))
    0.0
    """
    _grid(grid)
    checks.is_callable("phi", phi)
    checks.is_callable("phi_prime", phi_prime)
    nuh = _reference(grid, nu)

    def value(rho):
        return grid.integrate(phi(np.asarray(rho, dtype=float) / nuh) * nuh)

    def variation(rho):
        return np.asarray(phi_prime(np.asarray(rho, dtype=float) / nuh), dtype=float)

    energy = GridEnergy(value, variation, name)
    energy.nu = nuh
    return energy


def chi_squared(grid, nu):
    r"""The :math:`\chi^2` divergence, :math:`\varphi(s) = (s-1)^2`, :math:`\varphi'(s) = 2(s-1)`.

    Its Wasserstein flow is :math:`\partial_t\rho = 2\operatorname{div}(\rho\nabla(\rho/\nu))`.
    See :func:`phi_divergence`.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 2)
    >>> float(chi_squared(g, np.ones(2)).value(np.array([0.5, 1.5])))
    0.25
    """
    return phi_divergence(grid, nu, lambda s: (s - 1.0) ** 2, lambda s: 2.0 * (s - 1.0),
                          "chi-squared divergence")


def _slogs(s):
    return np.where(s > 0, s * np.log(np.where(s > 0, s, 1.0)), 0.0)


def kl_divergence(grid, nu, floor=1e-300):
    r"""The Kullback-Leibler divergence, :math:`\varphi(s) = s\log s`, :math:`\varphi'(s) = \log s + 1`.

    Its Wasserstein flow is the Fokker-Planck equation
    :math:`\partial_t\rho = \Delta\rho - \operatorname{div}(\rho\nabla\log\nu)`.
    :math:`\varphi'` is evaluated at :math:`\max(s, \text{floor})`. See
    :func:`phi_divergence`.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 2)
    >>> round(float(kl_divergence(g, np.ones(2)).value(np.array([2.0, 0.0]))), 6)
    0.693147
    """
    floor = checks.positive_number("floor", floor)
    return phi_divergence(grid, nu, _slogs, lambda s: np.log(np.maximum(s, floor)) + 1.0,
                          "KL divergence")


def langevin(X0, grad_V, tau, n_steps, rng, store_every=1):
    r"""Euler-Maruyama steps of the Langevin diffusion :math:`dX = -\nabla V(X)\,dt + \sqrt2\,dW`.

    .. math::

        X_{k+1} = X_k - \tau\nabla V(X_k) + \sqrt{2\tau}\,\xi_k,
        \qquad \xi_k \sim \mathcal N(0, I_d)\ \text{independent}.

    The law of :math:`X_t` solves the Fokker-Planck equation
    :math:`\partial_t\rho = \Delta\rho + \operatorname{div}(\rho\nabla V)`,
    the Wasserstein flow of :math:`\mathrm{KL}(\cdot\,|\,e^{-V}/Z)`. The
    scheme is first order (weak) in ``tau``.

    Parameters
    ----------
    X0 : array_like, shape (n,) or (n, d)
        Initial positions (a 1D array is n particles on the line).
    grad_V : callable
        ``grad_V(X)`` -> array of the shape of ``X``.
    tau : float
        The step, > 0.
    n_steps : int
        >= 1.
    rng : numpy.random.Generator
        The source of the noise (seeded by the caller).
    store_every : int
        Keep every ``store_every``-th state (the first and last are kept).

    Returns
    -------
    times : ndarray, shape (m,)
    X : ndarray, shape (m, *X0.shape)

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator`` or ``grad_V`` is not callable.
    ValueError
        If ``tau`` <= 0, ``n_steps`` < 1, ``X0`` has non-finite entries or
        ``grad_V`` returns the wrong shape.

    References
    ----------
    jko1998.

    Examples
    --------
    Particles started at the minimum of :math:`V(x) = x^2/2` stay there on
    average:

    >>> t, X = langevin(np.zeros(10_000), lambda x: x, 0.01, 100, np.random.default_rng(0))
    >>> abs(float(X[-1].mean())) < 0.05
    True
    """
    X = np.array(X0, dtype=float)
    if X.ndim not in (1, 2) or X.shape[0] == 0:
        raise ValueError(f"X0 must have shape (n,) or (n, d) with n >= 1, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X0 must contain only finite numbers")
    checks.is_callable("grad_V", grad_V)
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=1)
    store_every = checks.integer("store_every", store_every, minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {checks._show(rng)}")
    times, states = [0.0], [X.copy()]
    scale = np.sqrt(2 * tau)
    for k in range(1, n_steps + 1):
        drift = checks.returned_shape("grad_V", np.asarray(grad_V(X), dtype=float), X.shape)
        X = X - tau * drift + scale * rng.standard_normal(X.shape)
        if k % store_every == 0 or k == n_steps:
            times.append(k * tau)
            states.append(X.copy())
    return np.array(times), np.array(states)


def spectral_gap(grad_V, laplacian_V, lower, upper, n=2000):
    r"""The spectral gap :math:`\lambda` of the Langevin generator :math:`Lg = g'' - V'g'` on an interval.

    With :math:`g = \psi/\sqrt\nu`, :math:`\nu \propto e^{-V}`, the
    operator :math:`-L` is unitarily equivalent to the Schrödinger operator

    .. math::

        H = -\frac{d^2}{dx^2} + \frac{|V'|^2}{4} - \frac{V''}{2},

    whose lowest eigenvalue is 0 (eigenfunction :math:`\sqrt\nu`); the gap
    is its second eigenvalue, computed here with second differences on
    ``n`` cells and zero values outside (right when :math:`\nu` is
    negligible at the ends). Near :math:`\nu`, the flows of exercise 1 make
    :math:`\rho/\nu - 1` decay like :math:`e^{-\lambda t}` (KL) and
    :math:`e^{-2\lambda t}` (:math:`\chi^2`), so the divergences decay like
    :math:`e^{-2\lambda t}` and :math:`e^{-4\lambda t}`.

    Parameters
    ----------
    grad_V, laplacian_V : callable
        :math:`V'` and :math:`V''`, vectorised.
    lower, upper : float
        The interval, ``lower < upper``.
    n : int
        Number of cells, >= 10; the error is :math:`O(1/n^2)`.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        For callables that are not callable or return the wrong shape, a bad
        interval or ``n``.

    References
    ----------
    santambrogio2015, sec. 8.3 (Fokker-Planck).

    Examples
    --------
    The Ornstein-Uhlenbeck generator (:math:`V = x^2/2`) has gap 1:

    >>> round(spectral_gap(lambda x: x, lambda x: np.ones_like(x), -8.0, 8.0), 4)
    1.0
    """
    checks.is_callable("grad_V", grad_V)
    checks.is_callable("laplacian_V", laplacian_V)
    n = checks.integer("n", n, minimum=10)
    grid = Grid(lower, upper, n)
    x, h = grid.centres[0], grid.h[0]
    W = (checks.returned_shape("grad_V", np.asarray(grad_V(x), dtype=float), x.shape) ** 2 / 4
         - checks.returned_shape("laplacian_V", np.asarray(laplacian_V(x), dtype=float),
                                 x.shape) / 2)
    values = eigh_tridiagonal(2 / h ** 2 + W, np.full(n - 1, -1 / h ** 2), eigvals_only=True,
                              select="i", select_range=(0, 1))
    return float(values[1])


def sample_density(grid, rho, n, rng):
    r"""Draw ``n`` points from the piecewise-constant density ``rho`` on a 1D grid.

    .. math::

        X = F^{-1}(U),\quad U \sim \mathcal U(0, 1),\quad
        F(x) = \int_{a}^{x}\rho\,dy \Big/ \int_a^b\rho\,dy,

    with :math:`F` piecewise linear (exact inversion).

    Parameters
    ----------
    grid : Grid
        One-dimensional.
    rho : array_like, shape grid.shape
        Non-negative, positive mass.
    n : int
        >= 1.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    TypeError, ValueError
        For a grid that is not 1D, a negative density, a bad ``n`` or ``rng``.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 2)
    >>> X = sample_density(g, [0.0, 2.0], 100, np.random.default_rng(0))
    >>> bool((X >= 0.5).all())
    True
    """
    _grid(grid, dim=1)
    rho = grid.check_density("rho", rho)
    n = checks.integer("n", n, minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {checks._show(rng)}")
    edges = grid.lower[0] + np.arange(grid.n[0] + 1) * grid.h[0]
    cdf = np.concatenate([[0.0], np.cumsum(rho)])
    cdf /= cdf[-1]
    u = rng.uniform(size=n)
    # the cell with cdf[i] <= u < cdf[i+1]: never an empty cell, whose interval is empty
    i = np.minimum(np.searchsorted(cdf, u, side="right") - 1, grid.n[0] - 1)
    return edges[i] + (u - cdf[i]) / (cdf[i + 1] - cdf[i]) * grid.h[0]


def grid_wasserstein(grid, rho, X, p=1):
    r"""The distance :math:`W_p` between the empirical measure of ``X`` and a density on a 1D grid.

    .. math::

        W_p\Big(\frac1n\sum_j\delta_{X_j},\ \sum_i \frac{\rho_i}{\sum_k\rho_k}\,\delta_{x_i}\Big),

    the grid density seen as atoms at the cell centres :math:`x_i` (which
    adds at most :math:`h/2` to the distance), computed exactly by
    ``ot.wasserstein_1d``.

    Parameters
    ----------
    grid : Grid
        One-dimensional.
    rho : array_like, shape grid.shape
    X : array_like, shape (n,)
    p : float
        >= 1.

    Returns
    -------
    float
        :math:`W_p` (not its p-th power).

    Raises
    ------
    TypeError, ValueError
        For a grid that is not 1D, a negative density, samples that are not
        a finite 1D array, ``p < 1``.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 2)
    >>> grid_wasserstein(g, [0.0, 1.0], np.full(5, 0.75))
    0.0
    """
    _grid(grid, dim=1)
    rho = grid.check_density("rho", rho)
    X = np.asarray(X, dtype=float)
    if X.ndim != 1 or len(X) == 0 or not np.isfinite(X).all():
        raise ValueError(f"X must be a non-empty finite array of shape (n,), got shape {X.shape}")
    p = float(p)
    if not p >= 1:
        raise ValueError(f"p must be >= 1, got {p}")
    wp = ot.wasserstein_1d(X, grid.centres[0], None, rho / rho.sum(), p=p)
    return float(wp) ** (1.0 / p)


# --------------------------------------------------------------------------
# exercise 2
# --------------------------------------------------------------------------
def neumann_laplacian(values, h):
    r"""The second difference :math:`(u_{i+1} - 2u_i + u_{i-1})/h^2` with mirrored ghost cells.

    .. math::

        u_{-1} = u_0,\qquad u_n = u_{n-1}\quad\text{(no flux through the ends)}.

    Examples
    --------
    >>> neumann_laplacian(np.array([0.0, 1.0, 4.0]), 1.0)
    array([ 1.,  2., -3.])
    """
    padded = np.concatenate([values[:1], values, values[-1:]])
    return (padded[2:] - 2 * padded[1:-1] + padded[:-2]) / h ** 2


def _faces_squared(values, h):
    return float(np.sum(np.diff(values) ** 2) / h)


def dirichlet_energy(grid):
    r"""The Dirichlet energy :math:`\int|\partial_x\rho|^2dx` on a 1D grid, Neumann ends.

    .. math::

        \mathcal E_h(\rho) = \sum_{i} \Big(\frac{\rho_{i+1} - \rho_i}{h}\Big)^2 h,
        \qquad \frac{\delta\mathcal E_h}{\delta\rho} = \frac1h\frac{\partial\mathcal E_h}{\partial\rho_i}
        = -2\,\Delta_h\rho,

    with :math:`\Delta_h` of :func:`neumann_laplacian`.

    Raises
    ------
    TypeError, ValueError
        If ``grid`` is not a 1D Grid.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 4)
    >>> dirichlet_energy(g).value(np.ones(4))
    0.0
    """
    h = _grid(grid, dim=1).h[0]
    return GridEnergy(lambda r: _faces_squared(np.asarray(r, dtype=float), h),
                      lambda r: -2.0 * neumann_laplacian(np.asarray(r, dtype=float), h),
                      "Dirichlet energy")


def fisher_information(grid, floor=1e-300):
    r"""The Fisher information :math:`\int|\partial_x\rho|^2/\rho\,dx` on a 1D grid, Neumann ends.

    .. math::

        \mathcal I_h(\rho) = 4\sum_{i} \Big(\frac{u_{i+1} - u_i}{h}\Big)^2 h,\quad u = \sqrt\rho,
        \qquad \frac{\delta\mathcal I_h}{\delta\rho} = -4\,\frac{\Delta_h u}{u},

    the exact gradient of :math:`\mathcal I_h` divided by :math:`h`. ``u``
    is evaluated at :math:`\max(\rho, \text{floor})` in the denominator.

    Raises
    ------
    TypeError, ValueError
        If ``grid`` is not a 1D Grid, or ``floor`` <= 0.

    Examples
    --------
    >>> g = Grid(0.0, 1.0, 4)
    >>> fisher_information(g).value(np.full(4, 2.0))
    0.0
    """
    h = _grid(grid, dim=1).h[0]
    floor = checks.positive_number("floor", floor)

    def value(r):
        return 4.0 * _faces_squared(np.sqrt(np.maximum(np.asarray(r, dtype=float), 0.0)), h)

    def variation(r):
        u = np.sqrt(np.maximum(np.asarray(r, dtype=float), floor))
        return -4.0 * neumann_laplacian(u, h) / u

    return GridEnergy(value, variation, "Fisher information")


def _implicit_diffusion(u, coeff, tau, h):
    """Solve (I - tau * diag(coeff) * Delta_h) w = u (Neumann), a tridiagonal M-matrix."""
    n = len(u)
    c = tau * coeff / h ** 2
    lower = np.concatenate([-c[1:], [0.0]])        # sub-diagonal entries (row i, column i-1)
    upper = np.concatenate([[0.0], -c[:-1]])       # super-diagonal entries (row i, column i+1)
    diag = 1.0 + 2.0 * c
    diag[0] -= c[0]                                # mirrored ghost cells
    diag[-1] -= c[-1]
    bands = np.zeros((3, n))
    bands[0] = upper
    bands[1] = diag
    bands[2] = lower
    return solve_banded((1, 1), bands, u)


def l2_flow(grid, rho0, functional, t_final, tau, n_frames=50):
    r"""The :math:`L^2(dx)` gradient flow :math:`\partial_t\rho = -\frac{\delta f}{\delta\rho}` on a 1D grid.

    ``functional="dirichlet"``: :math:`\partial_t\rho = 2\partial_x^2\rho`
    (a heat equation), by backward Euler

    .. math::

        (I - 2\tau\Delta_h)\,\rho^{k+1} = \rho^k .

    ``functional="fisher"``: :math:`\partial_t\rho = 4\,\partial_x^2 u/u`
    with :math:`u = \sqrt\rho`, i.e. :math:`\partial_t u = 2\,\partial_x^2 u/u^2`,
    by a linearly implicit step in :math:`u`

    .. math::

        \Big(I - 2\tau\,\mathrm{diag}\big((u^k)^{-2}\big)\Delta_h\Big)\,u^{k+1} = u^k,
        \qquad \rho^{k+1} = (u^{k+1})^2 .

    Both matrices are M-matrices, so the density stays positive for every
    ``tau``; both steps are first order in time, and :math:`\Delta_h` is
    second order in space. Neumann ends: the Dirichlet flow keeps the mass
    exactly; the Fisher flow does not (its mass grows at the rate
    :math:`\int|\partial_x\log\rho|^2dx`).

    Parameters
    ----------
    grid : Grid
        One-dimensional.
    rho0 : array_like, shape grid.shape
        The initial density, > 0 on every cell.
    functional : {"dirichlet", "fisher"}
    t_final : float
        > 0.
    tau : float
        > 0, rounded down so that ``t_final / tau`` is an integer.
    n_frames : int
        >= 2, states stored (first and last included).

    Returns
    -------
    lecture_code.grid_flow.GridFlow
        ``energy`` holds the discrete functional (:func:`dirichlet_energy`
        or :func:`fisher_information`) and ``dissipation`` the discrete
        :math:`\int|\delta f/\delta\rho|^2dx`, the rate of decrease of the
        exact flow.

    Raises
    ------
    TypeError, ValueError
        For a grid that is not 1D, a density that is not positive or of the
        wrong shape, an unknown ``functional``, a non-positive ``t_final`` or
        ``tau``, ``n_frames`` < 2.

    Examples
    --------
    A constant density does not move:

    >>> g = Grid(0.0, 1.0, 8)
    >>> flow = l2_flow(g, np.ones(8), "fisher", 0.1, 0.01)
    >>> float(np.abs(flow.rho[-1] - 1).max())
    0.0
    """
    _grid(grid, dim=1)
    rho = grid.check_density("rho0", rho0)
    if (rho <= 0).any():
        raise ValueError(f"rho0 must be > 0 on every cell for an L2 flow, got minimum "
                         f"{rho.min():.3g}")
    energies = {"dirichlet": dirichlet_energy, "fisher": fisher_information}
    if functional not in energies:
        raise ValueError(f"functional must be one of {sorted(energies)}, got {functional!r}")
    energy = energies[functional](grid)
    t_final = checks.positive_number("t_final", t_final)
    tau = checks.positive_number("tau", tau)
    n_frames = checks.integer("n_frames", n_frames, minimum=2)
    n_steps = max(1, int(np.ceil(t_final / tau - 1e-9)))
    tau = t_final / n_steps
    keep = set(np.unique(np.linspace(0, n_steps, min(n_frames, n_steps + 1)).round()
                         .astype(int)).tolist())
    h = grid.h[0]
    times, states, values, diss = [], [], [], []

    def record(k, r):
        times.append(k * tau)
        states.append(r.copy())
        values.append(energy.value(r))
        diss.append(grid.integrate(energy.variation(r) ** 2))

    record(0, rho)
    u = np.sqrt(rho)
    for k in range(1, n_steps + 1):
        if functional == "dirichlet":
            rho = _implicit_diffusion(rho, np.full(grid.n[0], 2.0), tau, h)
        else:
            u = _implicit_diffusion(u, 2.0 / u ** 2, tau, h)
            rho = u ** 2
        if k in keep:
            record(k, rho)
    return GridFlow(grid, np.array(times), np.array(states), np.array(values),
                    np.array(diss), tau, n_steps, 0)
