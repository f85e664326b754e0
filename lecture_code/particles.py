r"""Particle systems for the energies of the particles chapter.

A cloud of ``n`` particles ``X = (x_1, ..., x_n)`` in :math:`\mathbb{R}^d`
(an array of shape ``(n, d)``) stands for the empirical measure
:math:`\alpha_n = \frac1n \sum_i \delta_{x_i}`. For an energy ``f`` of
measures, the particle energy is :math:`g(X) = f(\alpha_n)`, and

.. math::

    \nabla_{x_i} g(X) = \frac1n \, \nabla_{\mathcal W} f(\alpha_n)(x_i),

so the particle gradient flow :math:`\dot X = -\nabla g(X)` moves the
measure along its Wasserstein gradient flow slowed down by a factor ``n``.

Energies:

* potential energy :math:`f(\alpha) = \int V \, d\alpha`, whose Wasserstein
  gradient is :math:`\nabla V`;
* interaction energy :math:`f(\alpha) = \iint k(x, y)\, d\alpha(x)\, d\alpha(y)`,
  whose Wasserstein gradient is
  :math:`\int \nabla_1 k(x, y)\, d\alpha(y) + \int \nabla_2 k(y, x)\, d\alpha(y)`
  (the two terms coincide when ``k`` is symmetric).

References
----------
Santambrogio, *Optimal Transport for Applied Mathematicians*, ch. 8.
"""

from dataclasses import dataclass

import numpy as np

from . import checks

__all__ = [
    "Kernel", "RadialKernel", "GaussianKernel", "squared_distances", "quadratic_kernel", "bilinear_kernel",
    "power_kernel", "PotentialEnergy", "InteractionEnergy", "quadratic_potential",
    "Trajectory", "particle_descent", "interaction_gradient_broadcast", "push_forward",
]


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------
class Kernel:
    r"""An interaction kernel :math:`k(x, y)` with its two partial gradients.

    Parameters
    ----------
    value : callable
        ``value(x, y)`` for arrays ``x``, ``y`` broadcasting to shape
        ``(..., d)``; returns shape ``(...)``.
    grad_x : callable
        :math:`\nabla_1 k(x, y)`, the gradient in the first argument; returns
        shape ``(..., d)``.
    grad_y : callable, optional
        :math:`\nabla_2 k(x, y)`, the gradient in the second argument. Leave
        it out only for a symmetric kernel, :math:`k(x, y) = k(y, x)`; it is
        then :math:`\nabla_2 k(x, y) = \nabla_1 k(y, x)`.
    name : str, optional
        A label for plots and messages.

    Examples
    --------
    >>> import numpy as np
    >>> k = Kernel(lambda x, y: (x * y).sum(-1), lambda x, y: y, lambda x, y: x)
    >>> float(k.value(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """

    def __init__(self, value, grad_x, grad_y=None, name="kernel"):
        self.value = checks.is_callable("value", value)
        self.grad_x = checks.is_callable("grad_x", grad_x)
        if grad_y is None:
            self.grad_y = lambda x, y: self.grad_x(y, x)
        else:
            self.grad_y = checks.is_callable("grad_y", grad_y)
        self.name = name

    def __repr__(self):
        return f"<Kernel {self.name}>"


def squared_distances(X):
    """The matrix :math:`S_{ij} = |x_i - x_j|^2`, shape ``(n, n)``, by one matrix product."""
    X = checks.particles("X", X)
    X = X - X.mean(0)  # distances do not change; precision does
    sq = (X ** 2).sum(1)
    S = X @ (-2.0 * X.T)
    S += sq[:, None]
    S += sq[None, :]
    np.maximum(S, 0.0, out=S)  # rounding can leave -1e-16
    np.fill_diagonal(S, 0.0)
    return S


class RadialKernel(Kernel):
    r"""A symmetric kernel of the distance, :math:`k(x, y) = \varphi(|x - y|^2)`.

    Then :math:`\nabla_1 k(x, y) = 2\varphi'(|x-y|^2)(x - y)`, and the
    Wasserstein gradient of the interaction energy at the particles is

    .. math::

        \nabla_{\mathcal W} f(\alpha_n)(x_i)
        = \frac{2}{n} \sum_j w_{ij} (x_i - x_j),
        \qquad w_{ij} = 2\varphi'(|x_i - x_j|^2),

    evaluated as ``x_i * (W 1)_i - (W X)_i`` with one product of the
    ``(n, n)`` matrix ``W`` by ``[X, 1]``: :math:`O(n^2 d)` operations and no
    ``(n, n, d)`` array.

    Parameters
    ----------
    phi : callable
        :math:`\varphi(s)` on arrays of squared distances ``s``.
    weight : callable
        :math:`2\varphi'(s)` on arrays of squared distances (the diagonal
        ``s = 0`` is set to zero afterwards, so a weight singular at 0 is
        allowed).
    """

    def __init__(self, phi, weight, name="radial"):
        self.phi = checks.is_callable("phi", phi)
        self.weight = checks.is_callable("weight", weight)

        def value(x, y):
            return phi(((x - y) ** 2).sum(-1))

        def grad_x(x, y):
            diff = x - y
            s = (diff ** 2).sum(-1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(s > 0, weight(s), 0.0)
            return w * diff

        super().__init__(value, grad_x, name=name)

    def matrix(self, X):
        """The kernel matrix :math:`K_{ij} = k(x_i, x_j)`, shape ``(n, n)``."""
        return self.phi(squared_distances(X))

    def _factors(self, X):
        """Matrices ``P``, ``Q`` with ``(P @ Q.T)[i, j] = |x_i - x_j|^2``.

        The cloud is centred first: distances do not change, and the
        expansion :math:`|x|^2 + |y|^2 - 2x\\cdot y` loses no precision to a
        common offset.
        """
        X = X - X.mean(0)
        ones, sq = np.ones((len(X), 1)), (X ** 2).sum(1, keepdims=True)
        return np.hstack([-2.0 * X, sq, ones]), np.hstack([X, ones, sq])

    def _block_weights(self, E, start):
        """Turn rows ``start:`` of ``P @ Q.T`` into rows of ``w`` (in place)."""
        np.maximum(E, 0.0, out=E)  # rounding can leave -1e-16
        with np.errstate(divide="ignore", invalid="ignore"):
            W = checks.returned_shape("weight", self.weight(E), E.shape)
        W[E == 0.0] = 0.0  # the diagonal, and coincident particles: x_i - x_j = 0
        return W

    _weight_scale = 1.0  # a constant factor of w applied after the products

    def interaction_gradient(self, X):
        """Wasserstein gradient of the interaction energy at the particles, ``(n, d)``.

        The rows of ``W`` are made and used in blocks of about 1 MB, so that
        each block is still in the processor's cache when it is multiplied:
        the cost is then close to that of evaluating ``w`` once per pair.
        """
        n = len(X)
        X = X - X.mean(0)  # the formula is translation invariant; rounding is not
        P, Q = self._factors(X)
        X1 = np.hstack([X, np.ones((n, 1))])
        WX1 = np.empty_like(X1)
        rows = max(16, 2 ** 17 // n)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            W = self._block_weights(P[start:stop] @ Q.T, start)
            np.matmul(W, X1, out=WX1[start:stop])
        WX1 *= self._weight_scale
        return 2.0 / n * (X * WX1[:, -1:] - WX1[:, :-1])


class GaussianKernel(RadialKernel):
    r"""The Gaussian kernel :math:`k(x, y) = s\, e^{-|x-y|^2 / (2 h^2)}`.

    ``sign`` :math:`s = +1` makes particles repel (the energy is lowest
    when they are far apart); :math:`s = -1` makes them attract. Here
    :math:`w_{ij} = -k(x_i, x_j)/h^2`, and the exponent matrix
    :math:`-|x_i - x_j|^2/(2h^2)` comes out of a single matrix product, so
    the interaction gradient costs about one exponential of an ``n x n``
    array.

    Parameters
    ----------
    width : float
        The width :math:`h > 0`.
    sign : {1, -1}
        Repulsion (+1) or attraction (-1).
    """

    def __init__(self, width, sign=1):
        self.width = checks.positive_number("width", width)
        if isinstance(sign, bool) or sign not in (1, -1):
            raise ValueError(f"sign must be 1 (repulsion) or -1 (attraction), got {sign!r}")
        sign = int(sign)
        self.sign = sign
        h2 = self.width ** 2
        super().__init__(lambda s: sign * np.exp(-s / (2 * h2)),
                         lambda s: -sign * np.exp(-s / (2 * h2)) / h2,
                         name=f"Gaussian(h={width:g}, sign={sign:+d})")

    def _factors(self, X):
        """Matrices ``P``, ``Q`` with ``(P @ Q.T)[i, j] = -|x_i - x_j|^2 / (2 h^2)``."""
        Z = (X - X.mean(0)) / self.width
        ones, half_sq = np.ones((len(X), 1)), 0.5 * (Z ** 2).sum(1, keepdims=True)
        return np.hstack([Z, -half_sq, ones]), np.hstack([Z, ones, -half_sq])

    def matrix(self, X):
        P, Q = self._factors(X)
        K = np.exp(np.minimum(P @ Q.T, 0.0))  # rounding can leave +1e-16
        return K if self.sign > 0 else np.negative(K, out=K)

    def _block_weights(self, E, start):
        # w = -(s / h^2) exp(E): the factor is applied after the products, and
        # the diagonal is kept since it multiplies x_i - x_i = 0.
        return np.exp(E, out=E)

    @property
    def _weight_scale(self):
        return -self.sign / self.width ** 2


def quadratic_kernel():
    r"""The kernel :math:`k(x, y) = \frac12 |x - y|^2` (attraction to the mean).

    Its Wasserstein gradient is :math:`2(x - m)` with ``m`` the mean of the
    measure, so the flow contracts every particle to the mean at rate 2.
    """
    return RadialKernel(lambda s: 0.5 * s, np.ones_like, name="|x-y|^2/2")


def bilinear_kernel(A):
    r"""The kernel :math:`k(x, y) = \langle A x, y \rangle` for a ``(d, d)`` matrix.

    It is symmetric only when ``A`` is; its Wasserstein gradient is the
    constant :math:`(A + A^\top) m`, with ``m`` the mean of the measure.
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.isfinite(A).all():
        raise ValueError(f"A must be a finite square matrix (d, d), got shape {A.shape}")

    def value(x, y):
        return np.einsum("...i,ij,...j->...", y, A, x)

    def grad_x(x, y):  # d/dx <A x, y> = A^T y
        return np.broadcast_to(y @ A, np.broadcast_shapes(x.shape, y.shape))

    def grad_y(x, y):  # d/dy <A x, y> = A x
        return np.broadcast_to(x @ A.T, np.broadcast_shapes(x.shape, y.shape))

    return Kernel(value, grad_x, grad_y, name="<Ax,y>")


def power_kernel(a, b):
    r"""The attraction-repulsion kernel :math:`k = \frac{|x-y|^a}{a} - \frac{|x-y|^b}{b}`.

    For :math:`a > b \geq 1` particles attract at long range and repel at
    short range, and settle into a pattern whose shape depends on ``a``
    and ``b`` (in the plane: a ring for ``a=4, b=2``, a disk for
    ``a=2, b=1``; see Balagué et al., 2013). Here
    :math:`w = r^{a-2} - r^{b-2}` with :math:`r = |x-y|`.
    """
    a = checks.positive_number("a", a)
    b = checks.positive_number("b", b)
    if not a > b >= 1:
        raise ValueError(f"a and b must satisfy a > b >= 1, got a={a}, b={b}")
    return RadialKernel(lambda s: s ** (a / 2) / a - s ** (b / 2) / b,
                        lambda s: s ** ((a - 2) / 2) - s ** ((b - 2) / 2),
                        name=f"|r|^{a:g}/{a:g} - |r|^{b:g}/{b:g}")


def interaction_gradient_broadcast(kernel, X):
    r"""Wasserstein gradient of the interaction energy by plain broadcasting.

    Evaluates :math:`\frac1n \sum_j [\nabla_1 k(x_i, x_j) + \nabla_2 k(x_j, x_i)]`
    on ``(n, n, d)`` arrays. Works for every :class:`Kernel`; it is the
    reference that faster kernel-specific methods are checked against.
    """
    n, d = X.shape
    first = checks.returned_shape(f"{kernel.name}.grad_x", kernel.grad_x(X[:, None, :], X[None, :, :]), (n, n, d))
    second = checks.returned_shape(f"{kernel.name}.grad_y", kernel.grad_y(X[None, :, :], X[:, None, :]), (n, n, d))
    return (first + second).sum(axis=1) / n


# --------------------------------------------------------------------------
# energies
# --------------------------------------------------------------------------
class PotentialEnergy:
    r"""The potential energy :math:`f(\alpha) = \int V \, d\alpha`.

    Parameters
    ----------
    V : callable
        ``V(X)`` maps positions ``(n, d)`` to values ``(n,)``.
    grad_V : callable
        ``grad_V(X)`` maps positions ``(n, d)`` to gradients ``(n, d)``.
    """

    def __init__(self, V, grad_V, name="potential"):
        self.V = checks.is_callable("V", V)
        self.grad_V = checks.is_callable("grad_V", grad_V)
        self.name = name

    def value(self, X):
        """:math:`f(\\alpha_n) = \\frac1n \\sum_i V(x_i)`."""
        X = checks.particles("X", X)
        return float(checks.returned_shape("V", self.V(X), (len(X),)).mean())

    def wasserstein_gradient(self, X):
        """:math:`\\nabla V(x_i)` for each particle, shape ``(n, d)``."""
        X = checks.particles("X", X)
        return checks.returned_shape("grad_V", self.grad_V(X), X.shape)

    def __add__(self, other):
        return SumEnergy(self, other)


def quadratic_potential(center, stiffness=1.0):
    r"""The potential :math:`V(x) = \frac{\lambda}{2} |x - c|^2`, a :class:`PotentialEnergy`.

    Its flow contracts every particle to ``c`` at rate :math:`\lambda`:
    :math:`x(t) = c + e^{-\lambda t}(x(0) - c)`.
    """
    c = np.atleast_1d(np.asarray(center, dtype=float))
    if c.ndim != 1 or not np.isfinite(c).all():
        raise ValueError(f"center must be a finite vector of shape (d,), got {center!r}")
    lam = checks.positive_number("stiffness", stiffness)

    def offset(X):
        if X.shape[1] != len(c):
            raise ValueError(f"the particles have d = {X.shape[1]} coordinates but the "
                             f"potential's center has {len(c)}")
        return X - c

    return PotentialEnergy(lambda X: 0.5 * lam * (offset(X) ** 2).sum(1),
                           lambda X: lam * offset(X), name=f"{lam:g}/2 |x - c|^2")


class InteractionEnergy:
    r"""The interaction energy :math:`f(\alpha) = \iint k(x, y)\, d\alpha(x)\, d\alpha(y)`.

    Parameters
    ----------
    kernel : Kernel
        ``k`` with its two partial gradients; need not be symmetric.
    """

    def __init__(self, kernel):
        if not isinstance(kernel, Kernel):
            raise TypeError(f"kernel must be a Kernel, got {kernel!r}")
        self.kernel = kernel
        self.name = f"interaction {kernel.name}"

    def value(self, X):
        """:math:`f(\\alpha_n) = \\frac{1}{n^2} \\sum_{i,j} k(x_i, x_j)`."""
        X = checks.particles("X", X)
        n = len(X)
        if hasattr(self.kernel, "matrix"):
            return float(self.kernel.matrix(X).sum() / n ** 2)
        K = checks.returned_shape(f"{self.kernel.name}.value",
                                  self.kernel.value(X[:, None, :], X[None, :, :]), (n, n))
        return float(K.sum() / n ** 2)

    def wasserstein_gradient(self, X):
        r""":math:`\nabla_{\mathcal W} f(\alpha_n)(x_i)` for each particle, shape ``(n, d)``."""
        X = checks.particles("X", X)
        if hasattr(self.kernel, "interaction_gradient"):
            return self.kernel.interaction_gradient(X)
        return interaction_gradient_broadcast(self.kernel, X)

    def __add__(self, other):
        return SumEnergy(self, other)


class SumEnergy:
    """The sum of several energies (made by ``+`` between energies)."""

    def __init__(self, *terms):
        self.terms = []
        for term in terms:
            if not hasattr(term, "wasserstein_gradient"):
                raise TypeError(f"only energies can be added, got {term!r}")
            self.terms.extend(term.terms if isinstance(term, SumEnergy) else [term])
        self.name = " + ".join(t.name for t in self.terms)

    def value(self, X):
        return sum(t.value(X) for t in self.terms)

    def wasserstein_gradient(self, X):
        return sum(t.wasserstein_gradient(X) for t in self.terms)

    def __add__(self, other):
        return SumEnergy(self, other)


# --------------------------------------------------------------------------
# descent
# --------------------------------------------------------------------------
@dataclass
class Trajectory:
    """A computed particle flow.

    Attributes
    ----------
    times : ndarray, shape (m,)
        The times of the stored states, on the clock that was asked for.
    X : ndarray, shape (m, n, d)
        The particle positions at those times.
    energy : ndarray, shape (m,)
        The energy :math:`f(\\alpha_n)` at those times.
    clock : str
        "measure" or "particles" (see :func:`particle_descent`).
    """

    times: np.ndarray
    X: np.ndarray
    energy: np.ndarray
    clock: str

    def __len__(self):
        return len(self.times)


def particle_descent(energy, X0, tau, n_steps, clock="measure", store_every=1):
    r"""Explicit Euler descent of a particle system, with its energy.

    With ``clock="measure"`` each step is

    .. math::

        x_i^{k+1} = x_i^k - \tau\, \nabla_{\mathcal W} f(\alpha_n^k)(x_i^k),

    the forward Euler scheme of the Wasserstein gradient flow of ``f`` seen
    through particles; the time of step ``k`` is :math:`t_k = k\tau`. With
    ``clock="particles"`` each step is :math:`X^{k+1} = X^k - \tau \nabla g(X^k)`,
    the forward Euler scheme of the particle gradient flow of
    :math:`g(X) = f(\alpha_n)`; since :math:`\nabla_{x_i} g = \frac1n
    \nabla_{\mathcal W} f(\alpha_n)(x_i)`, its time ``s`` corresponds to the measure
    time :math:`t = s / n`.

    Parameters
    ----------
    energy : PotentialEnergy, InteractionEnergy or SumEnergy
        The energy ``f``.
    X0 : array_like, shape (n, d)
        The initial positions.
    tau : float
        The step, > 0.
    n_steps : int
        The number of steps, >= 0.
    clock : {"measure", "particles"}
        Which flow is discretised (see above).
    store_every : int
        Keep every ``store_every``-th state (and the last).

    Returns
    -------
    Trajectory

    Raises
    ------
    ValueError
        For non-finite or wrongly shaped ``X0``, ``tau <= 0``, negative
        ``n_steps``, an unknown ``clock``, or an energy whose gradient has the
        wrong shape; also when the iterates stop being finite (the step is
        too large for the explicit scheme).

    Examples
    --------
    >>> V = quadratic_potential([0.0], stiffness=1.0)
    >>> traj = particle_descent(V, [[1.0]], tau=0.5, n_steps=2)
    >>> traj.X[-1].item()  # (1 - 0.5)**2
    0.25
    """
    X = checks.particles("X0", X0).copy()
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    store_every = checks.integer("store_every", store_every, minimum=1)
    if clock not in ("measure", "particles"):
        raise ValueError(f"clock must be 'measure' or 'particles', got {clock!r}")
    if not hasattr(energy, "wasserstein_gradient"):
        raise TypeError(f"energy must be an energy of this module, got {energy!r}")
    scale = 1.0 if clock == "measure" else 1.0 / len(X)
    with np.errstate(over="ignore", invalid="ignore"):
        start = energy.value(X)
    if not np.isfinite(start):
        raise ValueError(f"the energy {energy.name} is not finite at X0 (got {start}); "
                         "check the potential or kernel and the starting positions")
    times, states, values = [0.0], [X.copy()], [start]
    for k in range(1, n_steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            gradient = energy.wasserstein_gradient(X)
            if np.isnan(gradient).any() and np.isfinite(X).all():
                raise ValueError(f"the gradient of {energy.name} is NaN at step {k - 1} "
                                 "although every particle is finite: check grad_V or the kernel")
            X -= tau * scale * gradient
            finite = np.isfinite(X).all()
            if finite and (k % store_every == 0 or k == n_steps):
                value = energy.value(X)
                finite = np.isfinite(value)
                times.append(k * tau)
                states.append(X.copy())
                values.append(value)
        if not finite:
            raise ValueError(
                f"the particles left every bound at step {k} (tau={tau:g}); "
                "the explicit scheme is unstable for this step: lower tau"
            )
    return Trajectory(np.array(times), np.array(states), np.array(values), clock)


def push_forward(v, X0, t_final, n_steps):
    r"""Move particles along a velocity field: the flow map :math:`T_t`.

    Integrates :math:`\dot x = v(x)` from each row of ``X0`` up to
    ``t_final`` with the classical fourth-order Runge-Kutta scheme, so that
    the returned cloud samples :math:`(T_{t})_\# \alpha_0` when ``X0``
    samples :math:`\alpha_0`.

    Parameters
    ----------
    v : callable
        The velocity field, ``v(X)`` of shape ``(n, d)`` for positions
        ``X`` of shape ``(n, d)``.
    X0 : array_like, shape (n, d)
        The initial positions.
    t_final : float
        The final time, >= 0.
    n_steps : int
        The number of Runge-Kutta steps, >= 1.

    Returns
    -------
    ndarray, shape (n_steps + 1, n, d)
        The positions at the times ``t_final * k / n_steps``.

    Examples
    --------
    >>> X = push_forward(lambda X: -X, [[1.0]], t_final=1.0, n_steps=20)
    >>> round(X[-1].item(), 6)  # exp(-1)
    0.367879
    """
    X = checks.particles("X0", X0)
    checks.is_callable("v", v)
    t_final = checks.nonnegative_number("t_final", t_final)
    n_steps = checks.integer("n_steps", n_steps, minimum=1)
    h = t_final / n_steps

    def velocity(Y):
        return checks.returned_shape("v", v(Y.copy()), Y.shape)

    states = [X.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, n_steps + 1):
            k1 = velocity(X)
            k2 = velocity(X + 0.5 * h * k1)
            k3 = velocity(X + 0.5 * h * k2)
            k4 = velocity(X + h * k3)
            X = X + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not np.isfinite(X).all():
                raise ValueError(f"the particles left every bound at step {step} "
                                 f"(t = {step * h:g}): the field v blows up, or use more n_steps")
            states.append(X)
    return np.array(states)
