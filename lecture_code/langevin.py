r"""The Fokker--Planck equation and its particle pictures.

For a potential :math:`V` on :math:`\mathbb{R}^d` the Fokker--Planck equation

.. math::

    \partial_t \rho = \operatorname{div}(\rho \nabla V) + \Delta \rho
                    = \operatorname{div}\big(\rho\, \nabla (V + \log \rho)\big)

is the Wasserstein gradient flow of the free energy
:math:`F(\rho) = \int V \rho + \int \rho \log \rho`, which is the relative
entropy :math:`\mathrm{KL}(\rho \,|\, e^{-V}/Z)` up to the constant
:math:`-\log Z`. This module computes it three ways:

* :func:`fokker_planck_1d`: the density on a grid (a conservative
  finite-volume scheme, implicit in time), the reference;
* :func:`langevin`: particles following the stochastic differential equation
  :math:`dX = -\nabla V(X)\, dt + \sqrt{2}\, dW` (Euler--Maruyama);
* :func:`score_flow`: particles following the deterministic velocity
  :math:`-\nabla V - \nabla \log \rho_t`, with the score
  :math:`\nabla \log \rho_t` estimated from the particles themselves
  (:func:`kde_score`).

References
----------
Jordan, Kinderlehrer and Otto (1998), The variational formulation of the
Fokker--Planck equation. Carrillo, Craig and Patacchini (2019), A blob method
for diffusion.
"""

from dataclasses import dataclass

import numpy as np
import ot
from scipy.linalg import solve_banded

from . import checks
from .particles import GaussianKernel

__all__ = [
    "ParticlePath", "GridFlow", "langevin", "kde_score", "score_flow",
    "fokker_planck_1d", "free_energy_1d", "w2_particles_to_grid",
]


@dataclass
class ParticlePath:
    """Stored states of a particle flow.

    Attributes
    ----------
    times : ndarray, shape (m,)
        Times of the stored states.
    X : ndarray, shape (m, n, d)
        Particle positions at those times.
    """

    times: np.ndarray
    X: np.ndarray

    def __len__(self):
        return len(self.times)


@dataclass
class GridFlow:
    """A density computed on a one-dimensional grid.

    Attributes
    ----------
    x : ndarray, shape (N,)
        Cell centres.
    times : ndarray, shape (m,)
        Times of the stored densities.
    rho : ndarray, shape (m, N)
        Density values at the cell centres (each row integrates to one).
    energy : ndarray, shape (m,)
        Free energy :math:`\\int V\\rho + \\int \\rho\\log\\rho` of each row.
    """

    x: np.ndarray
    times: np.ndarray
    rho: np.ndarray
    energy: np.ndarray

    @property
    def dx(self):
        return float(self.x[1] - self.x[0])


def _gradient(grad_V, X, k):
    """Evaluate ``grad_V`` at step ``k``; check its shape and that it returns no NaN.

    An overflow to inf is left to the blow-up check of the caller (a step
    ``tau`` too large makes the particles, then the gradient, overflow); a NaN
    is a fault of ``grad_V`` itself and gets its own message.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        g = checks.returned_shape("grad_V", grad_V(X), X.shape)
    bad = np.isnan(g)
    if bad.any():
        raise ValueError(
            f"grad_V returned NaN in {int(bad.sum())} entries at step {k} (before the update of "
            f"that step); grad_V must return numbers wherever the particles are"
        )
    return g


def _common(X0, tau, n_steps, store_every):
    X = checks.particles("X0", X0).copy()
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=1)
    store_every = checks.integer("store_every", store_every, minimum=1)
    return X, tau, n_steps, store_every


def langevin(grad_V, X0, tau, n_steps, rng, store_every=1):
    r"""Langevin particles by the Euler--Maruyama scheme.

    Each particle follows :math:`dX = -\nabla V(X)\,dt + \sqrt 2\, dW`,
    discretised as

    .. math::

        X^{k+1} = X^k - \tau \nabla V(X^k) + \sqrt{2\tau}\, Z^k,
        \qquad Z^k \sim \mathcal N(0, I_d),

    so that the law of the particles follows the Fokker--Planck equation up
    to an error of order :math:`\tau` (weak order one).

    Parameters
    ----------
    grad_V : callable
        ``grad_V(X)`` maps positions ``(n, d)`` to gradients ``(n, d)``.
    X0 : array_like, shape (n, d)
        Initial positions.
    tau : float
        Time step, > 0.
    n_steps : int
        Number of steps, >= 1.
    rng : numpy.random.Generator
        Source of the Gaussian increments.
    store_every : int
        Keep every ``store_every``-th state (and the last).

    Returns
    -------
    ParticlePath

    Raises
    ------
    ValueError, TypeError
        For badly shaped or non-finite ``X0``, ``tau <= 0``, ``n_steps < 1``,
        a ``grad_V`` that is not callable or returns the wrong shape or
        non-finite values, or iterates that blow up (``tau`` too large).

    Examples
    --------
    With :math:`V = 0` the particles perform Brownian motion, whose variance
    grows like :math:`2t`:

    >>> import numpy as np
    >>> path = langevin(lambda X: 0 * X, np.zeros((20000, 1)), 0.1, 10,
    ...                 np.random.default_rng(0))
    >>> round(float(path.X[-1].var()), 1)
    2.0
    """
    X, tau, n_steps, store_every = _common(X0, tau, n_steps, store_every)
    checks.is_callable("grad_V", grad_V)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    times, states = [0.0], [X.copy()]
    noise = np.sqrt(2 * tau)
    for k in range(1, n_steps + 1):
        g = _gradient(grad_V, X, k)
        with np.errstate(over="ignore", invalid="ignore"):
            X += -tau * g + noise * rng.standard_normal(X.shape)
        if not np.isfinite(X).all():
            raise ValueError(f"the particles blew up at step {k} (tau={tau:g}): lower tau")
        if k % store_every == 0 or k == n_steps:
            times.append(k * tau)
            states.append(X.copy())
    return ParticlePath(np.array(times), np.array(states))


def kde_score(X, width):
    r"""Score of the Gaussian kernel density estimate, at the particles.

    With :math:`\rho_h = \frac1n \sum_j \mathcal N(x_j, h^2 I)`,

    .. math::

        \nabla \log \rho_h(x_i)
        = \frac{\sum_j K_{ij}\,(x_j - x_i)}{h^2 \sum_j K_{ij}},
        \qquad K_{ij} = e^{-|x_i - x_j|^2 / (2h^2)}.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Particle positions.
    width : float
        Kernel width :math:`h > 0`.

    Returns
    -------
    ndarray, shape (n, d)

    Raises
    ------
    ValueError, TypeError
        For badly shaped ``X`` or ``width <= 0``.

    Examples
    --------
    Two particles pull towards each other:

    >>> kde_score([[-1.0], [1.0]], 1.0).ravel().round(3).tolist()
    [0.238, -0.238]
    """
    X = checks.particles("X", X)
    h = checks.positive_number("width", width)
    K = GaussianKernel(h).matrix(X)
    KX1 = K @ np.hstack([X, np.ones((len(X), 1))])
    return (KX1[:, :-1] / KX1[:, -1:] - X) / h ** 2


def score_flow(grad_V, X0, tau, n_steps, width, store_every=1):
    r"""Deterministic particles for the Fokker--Planck equation.

    The particles move with the Wasserstein gradient of the free energy,
    the score replaced by that of a kernel density estimate
    (:func:`kde_score`), by explicit Euler steps:

    .. math::

        x_i^{k+1} = x_i^k - \tau\big(\nabla V(x_i^k) + \nabla \log \rho_h^k(x_i^k)\big).

    The particles see :math:`\rho_h = \rho * \mathcal N(0, h^2 I)` instead of
    :math:`\rho`, a bias of order :math:`h^2`: for
    :math:`V = |x|^2/2` their stationary law has variance close to
    :math:`1 - h^2` instead of 1.

    Parameters
    ----------
    grad_V : callable
        ``grad_V(X)`` maps positions ``(n, d)`` to gradients ``(n, d)``.
    X0 : array_like, shape (n, d)
        Initial positions (distinct points).
    tau : float
        Time step, > 0.
    n_steps : int
        Number of steps, >= 1.
    width : float
        Kernel width :math:`h > 0`.
    store_every : int
        Keep every ``store_every``-th state (and the last).

    Returns
    -------
    ParticlePath

    Raises
    ------
    ValueError, TypeError
        As :func:`langevin`, and for ``width <= 0``.

    Examples
    --------
    A single particle feels no score (:math:`\nabla\log\rho_h` vanishes at the
    centre of a lone Gaussian) and descends :math:`V = x^2/2`:

    >>> path = score_flow(lambda X: X, [[1.0]], 0.5, 2, width=0.3)
    >>> path.X[-1].item()
    0.25
    """
    X, tau, n_steps, store_every = _common(X0, tau, n_steps, store_every)
    checks.is_callable("grad_V", grad_V)
    width = checks.positive_number("width", width)
    times, states = [0.0], [X.copy()]
    for k in range(1, n_steps + 1):
        g = _gradient(grad_V, X, k)
        with np.errstate(over="ignore", invalid="ignore"):
            X -= tau * (g + kde_score(X, width))
        if not np.isfinite(X).all():
            raise ValueError(f"the particles blew up at step {k} (tau={tau:g}): lower tau")
        if k % store_every == 0 or k == n_steps:
            times.append(k * tau)
            states.append(X.copy())
    return ParticlePath(np.array(times), np.array(states))


def free_energy_1d(x, rho, V):
    r"""Free energy :math:`F(\rho) = \int V\rho\,dx + \int \rho\log\rho\,dx` on a grid.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Equally spaced cell centres.
    rho : ndarray, shape (N,) or (m, N)
        Densities (non-negative); ``0 log 0 = 0``.
    V : callable
        The potential, ``V(x)`` of shape ``(N,)``.

    Returns
    -------
    float or ndarray, shape (m,)

    Raises
    ------
    ValueError
        For a grid of fewer than two points, or ``rho`` of the wrong shape,
        negative or non-finite.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x must be a 1D grid of at least 2 points, got shape {x.shape}")
    dx = x[1] - x[0]
    rho = np.asarray(rho, dtype=float)
    if rho.shape[-1:] != x.shape or rho.ndim > 2:
        raise ValueError(f"rho must have shape (N,) or (m, N) with N = {len(x)}, got shape {rho.shape}")
    if not np.isfinite(rho).all() or (rho < 0).any():
        bad = rho[~(np.isfinite(rho) & (rho >= 0))]
        raise ValueError(f"rho must be finite and >= 0, got values such as {bad[:3].tolist()}")
    safe = np.where(rho > 0, rho, 1.0)
    return ((V(x) * rho + rho * np.log(safe)) * dx).sum(-1)


def fokker_planck_1d(V, rho0, x_min, x_max, n_cells, tau, n_steps, store_every=1):
    r"""Fokker--Planck equation in 1D by finite volumes, implicit in time.

    Writing the equation as :math:`\partial_t\rho = \partial_x\big(e^{-V}\partial_x(e^{V}\rho)\big)`,
    the flux through the face between cells :math:`i` and :math:`i+1` is

    .. math::

        J_{i+1/2} = -\frac{1}{\Delta x}\Big(e^{(V_{i+1}-V_i)/2}\rho_{i+1}
                                         - e^{-(V_{i+1}-V_i)/2}\rho_i\Big),

    with no flux through the ends of :math:`[x_{\min}, x_{\max}]`, and
    :math:`\rho^{k+1} - \rho^k = \tau\, (J_{i-1/2} - J_{i+1/2})^{k+1}/\Delta x`
    (backward Euler). The scheme conserves mass exactly, keeps densities
    positive for every ``tau``, has the discrete equilibrium
    :math:`\propto e^{-V_i}` as a fixed point, and decreases the discrete
    relative entropy to it. It is second order in :math:`\Delta x` and first
    order in :math:`\tau`.

    Parameters
    ----------
    V : callable
        Potential; ``V(x)`` maps an array of shape ``(N,)`` to ``(N,)``.
    rho0 : callable
        Initial density, ``rho0(x)`` of shape ``(N,)``; it is renormalised
        to unit mass on the grid.
    x_min, x_max : float
        The interval, ``x_min < x_max``.
    n_cells : int
        Number of cells N, >= 3.
    tau : float
        Time step, > 0.
    n_steps : int
        Number of steps, >= 1.
    store_every : int
        Keep every ``store_every``-th state (and the last).

    Returns
    -------
    GridFlow

    Raises
    ------
    ValueError, TypeError
        For an empty interval, too few cells, ``tau <= 0``, ``n_steps < 1``,
        or an initial density that is negative, non-finite or of zero mass.

    Examples
    --------
    The equilibrium :math:`e^{-V}/Z` does not move:

    >>> import numpy as np
    >>> flow = fokker_planck_1d(lambda x: x**2 / 2, lambda x: np.exp(-x**2 / 2),
    ...                         -6, 6, 60, 0.1, 5)
    >>> bool(np.allclose(flow.rho[0], flow.rho[-1]))
    True
    """
    x_min = float(x_min)
    x_max = float(x_max)
    if not (np.isfinite(x_min) and np.isfinite(x_max) and x_min < x_max):
        raise ValueError(f"x_min < x_max must be finite, got x_min={x_min}, x_max={x_max}")
    n_cells = checks.integer("n_cells", n_cells, minimum=3)
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=1)
    store_every = checks.integer("store_every", store_every, minimum=1)
    dx = (x_max - x_min) / n_cells
    x = x_min + dx * (np.arange(n_cells) + 0.5)
    Vx = checks.returned_shape("V", V(x), x.shape)
    rho = checks.returned_shape("rho0", rho0(x), x.shape).copy()
    if not np.isfinite(rho).all() or (rho < 0).any() or rho.sum() <= 0:
        raise ValueError(
            f"rho0 must return finite non-negative values of positive mass, got min "
            f"{float(np.nanmin(rho)) if not np.isnan(rho).all() else np.nan!r} and sum {float(np.sum(rho))!r}"
        )
    rho /= rho.sum() * dx
    half = 0.5 * np.diff(Vx)
    up, down = np.exp(half), np.exp(-half)  # weights of rho_{i+1} and rho_i in the flux
    c = tau / dx ** 2
    # (I - tau L) as a banded matrix: rows are super-, main and sub-diagonal.
    ab = np.zeros((3, n_cells))
    ab[1] = 1.0
    ab[1, :-1] += c * down          # outflow to the right
    ab[1, 1:] += c * up             # outflow to the left
    ab[0, 1:] = -c * up             # inflow from the right neighbour
    ab[2, :-1] = -c * down          # inflow from the left neighbour
    times, states = [0.0], [rho.copy()]
    for k in range(1, n_steps + 1):
        rho = solve_banded((1, 1), ab, rho)
        if k % store_every == 0 or k == n_steps:
            times.append(k * tau)
            states.append(rho.copy())
    states = np.array(states)
    return GridFlow(x, np.array(times), states, free_energy_1d(x, states, V))


def w2_particles_to_grid(X, x, rho):
    r"""Wasserstein distance :math:`W_2` between 1D particles and a grid density.

    The grid density is the discrete measure :math:`\sum_i \rho_i \Delta x\,
    \delta_{x_i}`; the distance is computed by POT from the quantile
    functions (``ot.wasserstein_1d`` returns :math:`W_2^2`, whose square root
    is returned here).

    Parameters
    ----------
    X : array_like, shape (n, 1)
        Particles.
    x : ndarray, shape (N,)
        Cell centres.
    rho : ndarray, shape (N,)
        Density values (non-negative, positive mass).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For badly shaped or non-finite ``X``, ``x`` not a finite 1D array,
        ``rho`` not of the shape of ``x``, negative, non-finite or of zero
        mass.
    """
    X = checks.particles("X", X, dim=1)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"x must be a non-empty finite 1D array of cell centres, got shape {x.shape}")
    rho = np.asarray(rho, dtype=float)
    if rho.shape != x.shape:
        raise ValueError(f"rho must have the shape of x, {x.shape}, got shape {rho.shape}")
    if not np.isfinite(rho).all() or (rho < 0).any():
        bad = rho[~(np.isfinite(rho) & (rho >= 0))]
        raise ValueError(f"rho must be finite and >= 0, got values such as {bad[:3].tolist()}")
    if rho.sum() <= 0:
        raise ValueError(f"rho must have positive mass, got sum(rho) = {float(rho.sum())!r}")
    weights = rho / rho.sum()
    return float(np.sqrt(ot.wasserstein_1d(X[:, 0], x, v_weights=weights, p=2)))
