r"""The JKO scheme in one dimension, solved exactly through quantile functions.

In one dimension optimal transport is monotone rearrangement: for
:math:`\alpha = \frac1n\sum_i\delta_{x_i}` and :math:`\beta = \frac1n\sum_i\delta_{y_i}`
with sorted positions, :math:`\mathcal W_2^2(\alpha, \beta) = \frac1n\sum_i (x_i - y_i)^2`.
A measure is represented by ``n`` sorted positions :math:`x_1 < \dots < x_n`
(samples of its quantile function at :math:`s_i = (i - \frac12)/n`), each
carrying mass :math:`1/n`. The energy

.. math::

    f(x) = \frac1n \sum_i V(x_i)
         + \frac{1}{n^2}\sum_{i,j} W(x_i - x_j)
         - \frac{\beta}{n}\sum_{i=1}^{n-1} \log\bigl(n (x_{i+1} - x_i)\bigr)

is the potential, interaction and entropy energy; the entropy is that of the
piecewise-constant density equal to :math:`1/(n h_i)` on the cell
:math:`[x_i, x_{i+1}]` of length :math:`h_i = x_{i+1} - x_i` (mass
:math:`1/n` between consecutive particles; the two half cells of the tails
are left out, an :math:`O(\log n / n)` error). One JKO step

.. math::

    x^{k+1} = \operatorname*{arg\,min}_{x_1 < \dots < x_n}
        \frac{1}{2\tau}\,\frac1n\sum_i (x_i - x^k_i)^2 + f(x)

is a convex problem when :math:`V` and :math:`W` are convex, because
:math:`-\log(x_{i+1} - x_i)` is convex. :func:`jko_step_1d` solves it by a
Newton method with a line search: potential and entropy give a tridiagonal Hessian
(solved in :math:`O(n)` by :func:`scipy.linalg.solveh_banded`); an
interaction adds a term coupling all particles, handled by
preconditioned conjugate gradients on Hessian-vector products, with the
tridiagonal part as preconditioner. For the kernels :math:`W(z) = \gamma z^2/2`
and :math:`W(z) = \gamma|z|` these products cost :math:`O(n)` (means and
ranks of sorted positions). For a non-convex :math:`V` (steps beyond
:math:`1/\max(-V'')`) the tridiagonal matrix is shifted by a multiple of the
identity until its Cholesky factorisation succeeds (modified Newton), so
every direction descends.

References
----------
Jordan, Kinderlehrer, Otto (1998); Santambrogio (2015), ch. 2 and 8.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import LinAlgError, eigh_tridiagonal, solveh_banded

from . import checks

__all__ = [
    "Potential1D", "quadratic_potential_1d", "double_well_1d",
    "QuadraticInteraction", "AbsInteraction", "PairInteraction",
    "JKOProblem1D", "JKOStep1D", "jko_step_1d", "jko_flow_1d",
    "w2_squared_1d", "gaussian_particles",
]


# --------------------------------------------------------------------------
# energies
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Potential1D:
    r"""A potential :math:`V` on :math:`\mathbb{R}` with its first two derivatives.

    ``V``, ``dV``, ``d2V`` are vectorised callables (arrays in, arrays of
    the same shape out).
    """

    V: object
    dV: object
    d2V: object
    name: str = "V"

    def __post_init__(self):
        for attr in ("V", "dV", "d2V"):
            checks.is_callable(attr, getattr(self, attr))


def quadratic_potential_1d(center=0.0, stiffness=1.0):
    r"""The potential :math:`V(x) = \frac{\lambda}{2}(x - c)^2` as a :class:`Potential1D`.

    Examples
    --------
    >>> float(quadratic_potential_1d(1.0, 2.0).V(np.array(3.0)))
    4.0
    """
    c = checks.real_number("center", center)
    lam = checks.positive_number("stiffness", stiffness)
    return Potential1D(lambda x: 0.5 * lam * (x - c) ** 2, lambda x: lam * (x - c),
                       lambda x: lam + 0.0 * x, name=f"{lam:g}/2 (x - {c:g})^2")


def double_well_1d(depth=1.0):
    r"""The non-convex potential :math:`V(x) = \delta\,(x^2 - 1)^2 / 4` as a :class:`Potential1D`.

    Examples
    --------
    >>> float(double_well_1d().dV(np.array(1.0)))
    0.0
    """
    a = checks.positive_number("depth", depth)
    return Potential1D(lambda x: a * (x * x - 1) ** 2 / 4, lambda x: a * x * (x * x - 1),
                       lambda x: a * (3 * x * x - 1), name=f"{a:g}(x^2 - 1)^2/4")


class QuadraticInteraction:
    r"""The kernel :math:`W(z) = \gamma z^2/2` (attraction to the mean for :math:`\gamma > 0`).

    With the scaling of :func:`jko_step_1d` (``n`` times the energy), its
    term is :math:`\frac{\gamma}{n}\sum_{i,j}\frac{(x_i - x_j)^2}{2}
    = \gamma\bigl(\sum_i x_i^2 - n\bar x^2\bigr)`, with gradient
    :math:`2\gamma(x - \bar x)` and Hessian :math:`2\gamma(I - \mathbf 1\mathbf 1^\top/n)`;
    everything costs :math:`O(n)`.
    """

    def __init__(self, gamma=1.0):
        self.gamma = checks.real_number("gamma", gamma)
        self.name = f"{self.gamma:g} z^2/2"

    def W(self, z):
        return 0.5 * self.gamma * z * z

    def energy(self, x):
        return self.gamma * (np.dot(x, x) - x.size * x.mean() ** 2)

    def gradient(self, x):
        return 2 * self.gamma * (x - x.mean())

    def hess_diag(self, x):
        return np.full(x.size, 2 * self.gamma * (1 - 1 / x.size))

    def hessp(self, x, v):
        return 2 * self.gamma * (v - v.mean())


class AbsInteraction:
    r"""The kernel :math:`W(z) = \gamma |z|` (attraction for :math:`\gamma > 0`).

    For sorted positions :math:`\frac{\gamma}{n}\sum_{i,j}|x_i - x_j|
    = \frac{2\gamma}{n}\sum_i (2i - n - 1) x_i` is linear, so its gradient
    is :math:`\frac{2\gamma}{n}(2 r_i - n - 1)` (:math:`r_i` the rank) and
    its Hessian is zero: the step keeps a tridiagonal Newton system.
    """

    def __init__(self, gamma=1.0):
        self.gamma = checks.real_number("gamma", gamma)
        self.name = f"{self.gamma:g} |z|"

    def W(self, z):
        return self.gamma * np.abs(z)

    def _coefficients(self, n):
        return 2 * self.gamma / n * (2 * np.arange(1, n + 1) - n - 1)

    def energy(self, x):
        return float(np.dot(self._coefficients(x.size), np.sort(x)))

    def gradient(self, x):
        ranks = np.empty(x.size, dtype=int)
        ranks[np.argsort(x, kind="stable")] = np.arange(x.size)
        return self._coefficients(x.size)[ranks]

    def hess_diag(self, x):
        return np.zeros(x.size)

    hessp = None  # the Hessian is zero


class PairInteraction:
    r"""A general even kernel :math:`W` given with :math:`W'` and :math:`W''` (dense, :math:`O(n^2)`).

    The term :math:`\frac1n\sum_{i,j}W(x_i - x_j)` has gradient
    :math:`\frac2n\sum_j W'(x_i - x_j)` and Hessian-vector product
    :math:`\frac2n\sum_j W''(x_i - x_j)(v_i - v_j)`.
    """

    def __init__(self, W, dW, d2W, name="W"):
        self.W = checks.is_callable("W", W)
        self.dW = checks.is_callable("dW", dW)
        self.d2W = checks.is_callable("d2W", d2W)
        self.name = name

    def _diff(self, x):
        return x[:, None] - x[None, :]

    def energy(self, x):
        return float(self.W(self._diff(x)).sum() / x.size)

    def gradient(self, x):
        return 2 * self.dW(self._diff(x)).sum(axis=1) / x.size

    def hess_diag(self, x):
        H = self.d2W(self._diff(x))
        return 2 * (H.sum(axis=1) - np.diag(H)) / x.size

    def hessp(self, x, v):
        H = self.d2W(self._diff(x))
        return 2 * (H.sum(axis=1) * v - H @ v) / x.size


@dataclass(frozen=True)
class JKOProblem1D:
    r"""The energy of a 1D JKO flow: potential, interaction and entropy.

    Parameters
    ----------
    potential : Potential1D or None
    interaction : QuadraticInteraction, AbsInteraction, PairInteraction or None
    beta : float
        Weight of the entropy :math:`\beta\int\rho\log\rho`, >= 0 (the
        diffusion coefficient of the limit PDE).
    """

    potential: object = None
    interaction: object = None
    beta: float = 1.0

    def __post_init__(self):
        if self.potential is not None and not isinstance(self.potential, Potential1D):
            raise TypeError(f"potential must be a Potential1D or None, got {self.potential!r}")
        if self.interaction is not None and not isinstance(
                self.interaction, (QuadraticInteraction, AbsInteraction, PairInteraction)):
            raise TypeError("interaction must be a QuadraticInteraction, AbsInteraction, "
                            f"PairInteraction or None, got {self.interaction!r}")
        object.__setattr__(self, "beta", checks.nonnegative_number("beta", self.beta))

    # The three functions below are n times the energy f of the module docstring.
    def scaled_energy(self, x):
        """:math:`n f(x)`; ``inf`` when two particles touch and ``beta > 0``."""
        value = 0.0
        if self.potential is not None:
            value += float(np.sum(checks.returned_shape("V", self.potential.V(x), x.shape)))
        if self.interaction is not None:
            value += self.interaction.energy(x)
        if self.beta > 0:
            h = np.diff(x)
            if (h <= 0).any():
                return np.inf
            value -= self.beta * float(np.sum(np.log(x.size * h)))
        return value

    def scaled_gradient(self, x):
        grad = np.zeros_like(x)
        if self.potential is not None:
            grad += checks.returned_shape("dV", self.potential.dV(x), x.shape)
        if self.interaction is not None:
            grad += self.interaction.gradient(x)
        if self.beta > 0:
            inv = self.beta / np.diff(x)
            grad[:-1] += inv
            grad[1:] -= inv
        return grad

    def banded_hessian(self, x, shift):
        """Tridiagonal part of the Hessian plus ``shift`` on the diagonal, upper form."""
        ab = np.zeros((2, x.size))
        ab[1] = shift
        if self.potential is not None:
            ab[1] += checks.returned_shape("d2V", self.potential.d2V(x), x.shape)
        if self.beta > 0:
            w = self.beta / np.diff(x) ** 2
            ab[1, :-1] += w
            ab[1, 1:] += w
            ab[0, 1:] = -w
        return ab

    def residual_scale(self, x):
        r""":math:`\max(1, \beta / \min_i h_i)`, the scale of the optimality residual."""
        if self.beta == 0:
            return 1.0
        return max(1.0, self.beta / float(np.min(np.diff(x))))

    def free_energy(self, x):
        r"""The energy :math:`f` of the particle measure (module docstring)."""
        x = _positions("x", x)
        _check_positions_order("x", x)
        return self.scaled_energy(x) / x.size


# --------------------------------------------------------------------------
# the JKO step
# --------------------------------------------------------------------------
@dataclass
class JKOStep1D:
    """The result of :func:`jko_step_1d`.

    ``x`` the new sorted positions, ``n_iter`` Newton iterations,
    ``converged``, ``history`` the optimality residual (max-norm of the
    gradient of the JKO objective) at each Newton iterate, ``cg_iter``
    the conjugate-gradient iterations used at each Newton step.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)
    cg_iter: list = field(default_factory=list)


def _positions(name, x):
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1D array of positions, got {checks._show(x)}") from None
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"{name} must be a 1D array of at least 2 positions, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must contain only finite numbers")
    return x


def _pcg(apply_A, b, precondition, rtol, max_iter):
    """Preconditioned conjugate gradients for A d = b; stops on negative curvature."""
    d = np.zeros_like(b)
    r = b.copy()
    z = precondition(r)
    p = z.copy()
    rz = np.dot(r, z)
    norm_b = np.linalg.norm(b)
    for it in range(1, max_iter + 1):
        Ap = apply_A(p)
        curvature = np.dot(p, Ap)
        if curvature <= 0:
            return (d if it > 1 else z), it
        step = rz / curvature
        d += step * p
        r -= step * Ap
        if np.linalg.norm(r) <= rtol * norm_b:
            return d, it
        z = precondition(r)
        rz_new = np.dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return d, max_iter


def _solve_shifted(ab, rhs, scale):
    """Solve ``(A + mu I) d = rhs`` for the banded ``A`` with the least ``mu >= 0`` tried
    (0, then ``1e-8 scale`` doubling) for which the banded Cholesky succeeds.

    Returns the direction and the shift used (``None`` when no shift up to
    ``1e8 scale`` made the matrix positive definite).
    """
    mu = 0.0
    while True:
        shifted = ab.copy()
        shifted[1] += mu
        try:
            return solveh_banded(shifted, rhs), mu
        except LinAlgError:
            mu = 1e-8 * scale if mu == 0.0 else 2 * mu
            if mu > 1e8 * scale:
                return None, None


def _convexity_bound(y, problem):
    r"""The largest step :math:`1/\max(-V'', 0)` over the particles (``inf`` if convex)."""
    worst = 0.0
    if problem.potential is not None:
        worst = max(worst, float(np.max(-problem.potential.d2V(y))))
    inter = problem.interaction
    if isinstance(inter, QuadraticInteraction) and inter.gamma < 0:
        worst = max(worst, -2 * inter.gamma)
    return np.inf if worst <= 0 else 1 / worst


def _check_positions_order(name, y):
    if (np.diff(y) < 0).any():
        i = int(np.argmax(np.diff(y) < 0))
        raise ValueError(f"{name} must be sorted (non-decreasing) positions, got {name}[{i}] = "
                         f"{y[i]!r} > {name}[{i + 1}] = {y[i + 1]!r}; pass np.sort({name})")


def _jko_step_1d(y, tau, problem, tol, max_iter, cg_max_iter):
    """The Newton iteration of :func:`jko_step_1d` on checked input; never warns."""
    n = y.size
    coupled = problem.interaction is not None and problem.interaction.hessp is not None

    def objective(x):
        return np.dot(x - y, x - y) / (2 * tau) + problem.scaled_energy(x)

    def unbounded(what):
        bound = _convexity_bound(y, problem)
        raise ValueError(
            f"jko_step_1d: {what} at tau = {tau:g}; the step's objective seems unbounded "
            f"below or has no minimiser reachable from y (the step is strictly convex for "
            f"tau < {bound:.3g} = 1/max(-V'' - 2 gamma_-)); reduce tau")

    x = y.copy()
    far = 1e100 * (1 + float(np.abs(y).max()))
    history, cg_iter = [], []
    value = objective(x)
    low = 1e100 * (1 + abs(value))
    for it in range(max_iter + 1):
        grad = (x - y) / tau + problem.scaled_gradient(x)
        if not (np.isfinite(grad).all() and np.isfinite(value)):
            unbounded(f"Newton iterate {it} is not finite")
        if np.abs(x).max() > far or value < -low:
            unbounded(f"Newton iterate {it} escaped (|x| up to {np.abs(x).max():.3g}, "
                      f"objective {value:.3g})")
        history.append(float(np.abs(grad).max()))
        ab = problem.banded_hessian(x, 1 / tau)
        scale = float(np.abs(ab).max())
        if history[-1] <= tol * problem.residual_scale(x):
            # a stationary point; leave it along a direction of negative curvature
            # when the (tridiagonal) Hessian shows it is not a minimiser
            escape = None if coupled else _negative_curvature(ab)
            if escape is None:
                return _finish(x, it, True, history, cg_iter, problem)
            direction, slope = escape, 0.0
        else:
            if it == max_iter:
                break
            if coupled:
                inter = problem.interaction
                pre = ab.copy()
                pre[1] += np.maximum(inter.hess_diag(x), 0.0)
                _, mu = _solve_shifted(pre, grad, scale)
                if mu is None:
                    unbounded(f"no positive-definite shift of the Hessian at Newton iterate {it}")
                pre[1] += mu

                def apply_A(v):
                    out = ab[1] * v
                    out[:-1] += ab[0, 1:] * v[1:]
                    out[1:] += ab[0, 1:] * v[:-1]
                    return out + inter.hessp(x, v)

                direction, used = _pcg(apply_A, -grad, lambda r: solveh_banded(pre, r),
                                       rtol=1e-10, max_iter=cg_max_iter)
                cg_iter.append(used)
            else:
                direction, _ = _solve_shifted(ab, -grad, scale)
                if direction is None:
                    unbounded(f"no positive-definite shift of the Hessian at Newton iterate {it}")
            slope = float(np.dot(grad, direction))
            if slope >= 0:  # safeguard: fall back on steepest descent
                direction, slope = -grad / scale, -float(np.dot(grad, grad)) / scale
        # Stay in the domain (particles keep their order), then backtrack (Armijo).
        step = 1.0
        if problem.beta > 0:
            dh = np.diff(direction)
            shrinking = dh < 0
            if shrinking.any():
                step = min(1.0, 0.95 * float(np.min(-np.diff(x)[shrinking] / dh[shrinking])))
        while True:
            trial = x + step * direction
            trial_value = objective(trial)
            if slope < 0:
                accept = trial_value <= value + 1e-4 * step * slope + 1e-13 * abs(value)
            else:  # negative-curvature move: ask for a strict decrease
                accept = trial_value < value - 1e-13 * abs(value)
            if accept:
                break
            step *= 0.5
            if step < 1e-12:
                break
        if slope >= 0 and not accept:
            return _finish(x, it, True, history, cg_iter, problem)
        x, value = trial, trial_value
        if problem.beta == 0 and problem.interaction is not None and (np.diff(x) < 0).any():
            # the rank-dependent interaction forces change: no longer the sorted problem
            _refuse_reordering()
    return _finish(x, max_iter, False, history, cg_iter, problem)


def _negative_curvature(ab):
    """A unit eigenvector of the smallest eigenvalue of the tridiagonal ``ab`` if < 0."""
    try:
        solveh_banded(ab, np.zeros(ab.shape[1]))
        return None
    except LinAlgError:
        pass
    values, vectors = eigh_tridiagonal(ab[1], ab[0, 1:], select="i", select_range=(0, 0))
    return vectors[:, 0] if values[0] < 0 else None


def _check_step_input(y, tau, problem, tol, max_iter, cg_max_iter, name="y"):
    y = _positions(name, y)
    tau = checks.positive_number("tau", tau)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=1)
    cg_max_iter = checks.integer("cg_max_iter", cg_max_iter, minimum=1)
    if not isinstance(problem, JKOProblem1D):
        raise TypeError(f"problem must be a JKOProblem1D, got {checks._show(problem)}")
    _check_positions_order(name, y)
    if problem.beta > 0 and (np.diff(y) <= 0).any():
        i = int(np.argmax(np.diff(y) <= 0))
        raise ValueError(f"{name} must be strictly increasing when beta > 0 (the entropy of "
                         f"touching particles is infinite), got {name}[{i}] = {y[i]!r} >= "
                         f"{name}[{i + 1}] = {y[i + 1]!r}")
    inter = problem.interaction
    if isinstance(inter, QuadraticInteraction) and inter.gamma < 0 and tau >= 1 / (2 * -inter.gamma):
        raise ValueError(
            f"tau must be < 1/(2|gamma|) = {1 / (2 * -inter.gamma):.6g} for the repulsive "
            f"QuadraticInteraction(gamma = {inter.gamma:g}), got tau = {tau!r}: beyond it "
            "the step's objective can be unbounded below (particles fly apart)")
    return y, tau, tol, max_iter, cg_max_iter


def _warn_unconverged(where, step, tol, max_iter, problem, stacklevel):
    extra = " (return_steps=True returns the records)" if "flow" in where else ""
    warnings.warn(f"{where}: Newton stopped after max_iter={max_iter} iterations with "
                  f"optimality residual {step.history[-1]:.3g} > tol={tol:g} times "
                  f"{problem.residual_scale(step.x):.3g}; raise max_iter (or reduce tau); "
                  f"the log is in JKOStep1D.history{extra}", RuntimeWarning,
                  stacklevel=stacklevel + 1)


def jko_step_1d(y, tau, problem, tol=1e-9, max_iter=100, cg_max_iter=50):
    r"""One JKO step for sorted particles in 1D, solved by Newton's method.

    .. math::

        x = \operatorname*{arg\,min}_{x_1<\dots<x_n}
            \frac{1}{2\tau n}\sum_i (x_i - y_i)^2 + f(x),

    with :math:`f` the energy of :class:`JKOProblem1D`. The step stops when
    the first-order optimality residual, the max-norm of

    .. math::

        \frac{x_i - y_i}{\tau} + V'(x_i) + \frac{2}{n}\sum_j W'(x_i - x_j)
        + \beta\Bigl(\frac{1}{h_i} - \frac{1}{h_{i-1}}\Bigr)

    (:math:`h_i = x_{i+1} - x_i`; missing terms at the ends are zero), is
    at most ``tol`` times :math:`\max(1, \beta/\min_i h_i)`, the size of the
    largest entropic force (the round-off floor of the residual grows with it).

    The objective is strictly convex when :math:`\tau < 1/\max(-V'')` (and
    :math:`V, W` convex); beyond that bound (a non-convex :math:`V`) Newton's
    matrix may be indefinite, and the method adds the smallest multiple of
    the identity (0, then :math:`10^{-8}` times its scale, doubling)
    for which the banded Cholesky factorisation succeeds, so each direction
    is a descent direction and the line search decreases the objective; at a
    stationary point that is not a minimiser it moves along a direction of
    negative curvature. It then converges to a local minimiser, quadratically
    once the shift is no longer needed.

    Parameters
    ----------
    y : array_like, shape (n,)
        Current positions :math:`x^k`, non-decreasing (strictly increasing
        when ``beta > 0``).
    tau : float
        Step size, > 0; below :math:`1/(2|\gamma|)` for a repulsive
        :class:`QuadraticInteraction` (:math:`\gamma < 0`).
    problem : JKOProblem1D
        The energy.
    tol : float
        Relative tolerance on the optimality residual, > 0.
    max_iter : int
        Most Newton iterations; reaching it warns, naming ``max_iter``.
    cg_max_iter : int
        Most conjugate-gradient iterations per Newton step (interaction only).

    Returns
    -------
    JKOStep1D

    Raises
    ------
    ValueError, TypeError
        On a non-positive ``tau`` or ``tol``, positions that are not finite,
        not a 1D array of length >= 2, not sorted (or not strictly increasing
        when ``beta > 0``), a step ``tau >= 1/(2|gamma|)`` with a repulsive
        quadratic interaction, or Newton iterates that stop being finite or
        exceed :math:`10^{100}(1 + \max|y|)`, or an objective falling below
        :math:`-10^{100}` times its start (an objective unbounded below;
        the message names ``tau`` and the convexity bound).

    References
    ----------
    Jordan, Kinderlehrer, Otto (1998); Nocedal and Wright, *Numerical
    Optimization* (2006), section 3.4 (modified Newton).

    Examples
    --------
    Without entropy and interaction the step is the proximal step of
    :math:`V = x^2/2` for each particle, :math:`x_i = y_i / (1 + \tau)`:

    >>> problem = JKOProblem1D(potential=quadratic_potential_1d(), beta=0.0)
    >>> jko_step_1d([-2.0, 2.0], 1.0, problem).x.tolist()
    [-1.0, 1.0]
    """
    y, tau, tol, max_iter, cg_max_iter = _check_step_input(y, tau, problem, tol, max_iter,
                                                           cg_max_iter)
    step = _jko_step_1d(y, tau, problem, tol, max_iter, cg_max_iter)
    if not step.converged:
        _warn_unconverged("jko_step_1d", step, tol, max_iter, problem, stacklevel=2)
    return step


def _finish(x, n_iter, converged, history, cg_iter, problem):
    if problem.beta == 0 and (np.diff(x) < 0).any():
        _refuse_reordering()
    return JKOStep1D(x, n_iter, converged, history, cg_iter)


def _refuse_reordering():
    raise ValueError("the step reordered the particles, so the sorted-position problem "
                     "is not the JKO step here; use beta > 0 or a smaller tau")


def jko_flow_1d(x0, tau, n_steps, problem, tol=1e-9, max_iter=100, cg_max_iter=50,
                return_steps=False):
    r"""Iterate :func:`jko_step_1d`: the positions :math:`x^0, \dots, x^{K}`.

    .. math::

        x^{k+1} = \operatorname{JKO}_\tau(x^k), \qquad k = 0, \dots, K - 1.

    Parameters
    ----------
    x0 : array_like, shape (n,)
        Initial sorted positions.
    tau : float
        Step, > 0.
    n_steps : int
        Number of steps :math:`K`, >= 0.
    problem : JKOProblem1D
    tol, max_iter, cg_max_iter
        As in :func:`jko_step_1d`; a step stopped by ``max_iter`` warns
        (``RuntimeWarning`` naming the step index and ``max_iter``).
    return_steps : bool
        Also return the :class:`JKOStep1D` record (Newton log) of each step.

    Returns
    -------
    path : ndarray, shape (n_steps + 1, n)
    steps : list of JKOStep1D, length n_steps
        Only when ``return_steps`` is true.

    Raises
    ------
    ValueError, TypeError
        As :func:`jko_step_1d`.

    Examples
    --------
    >>> problem = JKOProblem1D(potential=quadratic_potential_1d(), beta=0.0)
    >>> jko_flow_1d([0.0, 4.0], 1.0, 2, problem)[:, 1].tolist()
    [4.0, 2.0, 1.0]
    """
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    x, tau, tol, max_iter, cg_max_iter = _check_step_input(x0, tau, problem, tol, max_iter,
                                                           cg_max_iter, name="x0")
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    steps = []
    for k in range(n_steps):
        step = _jko_step_1d(path[k], tau, problem, tol, max_iter, cg_max_iter)
        if not step.converged:
            _warn_unconverged(f"jko_flow_1d, step k={k} (of {n_steps})", step, tol, max_iter,
                              problem, stacklevel=2)
        steps.append(step)
        path[k + 1] = step.x
    return (path, steps) if return_steps else path


def w2_squared_1d(x, y):
    r"""Squared Wasserstein distance between two uniform empirical measures on :math:`\mathbb{R}`.

    .. math::

        \mathcal W_2^2\Bigl(\tfrac1n\sum_i\delta_{x_i}, \tfrac1n\sum_i\delta_{y_i}\Bigr)
        = \frac1n\sum_i (x_{(i)} - y_{(i)})^2,

    where :math:`x_{(i)}` are the sorted positions (monotone rearrangement).

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Positions (any order).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the two arrays differ in length.

    Examples
    --------
    >>> w2_squared_1d([0.0, 1.0], [3.0, 2.0])
    4.0
    """
    x = np.sort(_positions("x", x))
    y = np.sort(_positions("y", y))
    if x.size != y.size:
        raise ValueError(f"x and y must have the same number of particles, got {x.size} and {y.size}")
    return float(np.mean((x - y) ** 2))


def gaussian_particles(n, mean=0.0, var=1.0):
    r"""Sorted positions sampling the Gaussian quantile function at :math:`(i - \frac12)/n`.

    .. math::

        x_i = m + \sqrt{s}\,\Phi^{-1}\bigl((i - \tfrac12)/n\bigr).

    Examples
    --------
    >>> gaussian_particles(3).round(3).tolist()
    [-0.967, 0.0, 0.967]
    """
    from scipy.special import ndtri

    n = checks.integer("n", n, minimum=2)
    var = checks.positive_number("var", var)
    return checks.real_number("mean", mean) + np.sqrt(var) * ndtri((np.arange(1, n + 1) - 0.5) / n)
