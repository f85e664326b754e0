r"""Euler steps, proximal steps and the Ornstein–Uhlenbeck closed forms of the JKO chapter.

For a smooth function :math:`g` on :math:`\mathbb{R}^d` and a step
:math:`\tau > 0`,

* forward (explicit) Euler: :math:`x_{k+1} = x_k - \tau \nabla g(x_k)`;
* backward (implicit) Euler: :math:`x_{k+1} = x_k - \tau \nabla g(x_{k+1})`,
  that is :math:`x_{k+1} = (\mathrm{Id} + \tau \nabla g)^{-1}(x_k)
  = \operatorname{prox}_{\tau g}(x_k)`, the minimiser of
  :math:`\frac{1}{2\tau}|x - x_k|^2 + g(x)`.

The JKO scheme is the second one with the Euclidean distance replaced by
the Wasserstein distance. For the Fokker–Planck equation with the
potential :math:`V(x) = |x|^2/2` (the Ornstein–Uhlenbeck process)
everything is explicit on Gaussians; :func:`ou_gaussian` gives the exact
flow and :func:`ou_jko_gaussian` the exact JKO iterates, against which the
numerical JKO solvers of :mod:`lecture_code.jko_1d` and
:mod:`lecture_code.jko_entropic` are checked.

References
----------
Jordan, Kinderlehrer, Otto (1998); Santambrogio (2017), section 2.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import checks

__all__ = [
    "forward_euler", "backward_euler", "backward_euler_step", "BackwardStep",
    "ou_gaussian", "ou_jko_gaussian",
]


def _point(name, x):
    try:
        array = np.atleast_1d(np.asarray(x, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a point of R^d (a number or a vector), "
                        f"got {checks._show(x)}") from None
    if array.ndim != 1 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a finite vector of shape (d,), got {x!r}")
    return array


def forward_euler(grad, x0, tau, n_steps):
    r"""Forward (explicit) Euler iterates for the flow :math:`\dot x = -\nabla g(x)`.

    .. math::

        x_{k+1} = x_k - \tau \nabla g(x_k).

    Parameters
    ----------
    grad : callable
        :math:`\nabla g`, maps a point of shape ``(d,)`` to shape ``(d,)``.
    x0 : array_like, shape (d,)
        Starting point.
    tau : float
        Step size, > 0.
    n_steps : int
        Number of steps, >= 0.

    Returns
    -------
    ndarray, shape (n_steps + 1, d)
        The iterates :math:`x_0, \dots, x_{n}`.

    Raises
    ------
    ValueError, TypeError
        When ``tau`` is not a positive number, ``n_steps`` is negative,
        ``x0`` is not a finite vector or ``grad`` returns NaN.

    Warns
    -----
    RuntimeWarning
        When an iterate or ``grad`` overflows (an unstable step); the finite iterates
        computed so far are returned (fewer than ``n_steps + 1`` rows).

    Examples
    --------
    For :math:`g(x) = x^2/2` each step multiplies by :math:`1 - \tau`:

    >>> forward_euler(lambda x: x, [1.0], 0.5, 2)[:, 0].tolist()
    [1.0, 0.5, 0.25]
    """
    checks.is_callable("grad", grad)
    x = _point("x0", x0)
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    for k in range(n_steps):
        g = checks.returned_shape("grad", grad(path[k]), x.shape)
        if np.isnan(g).any():
            raise ValueError(f"grad must return finite values, got {g.tolist()} at the "
                             f"iterate x_{k} = {path[k].tolist()}")
        with np.errstate(over="ignore", invalid="ignore"):
            path[k + 1] = path[k] - tau * g
        if not np.isfinite(path[k + 1]).all():
            warnings.warn(f"forward_euler: the iterates diverge (x_{k + 1} or grad(x_{k}) is "
                          f"not finite; the scheme is unstable at tau = {tau:g}); returning "
                          f"the {k + 1} finite iterates x_0..x_{k} only; reduce tau",
                          RuntimeWarning, stacklevel=2)
            return path[:k + 1]
    return path


@dataclass
class BackwardStep:
    """The result of one backward Euler step: the point and Newton's log.

    ``history`` holds the residual :math:`|y + \\tau\\nabla g(y) - x|_\\infty`
    at each Newton iterate.
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)


def backward_euler_step(grad, hess, x, tau, tol=1e-12, max_iter=50):
    r"""One backward Euler (proximal) step, solved by Newton's method.

    Finds :math:`y` with

    .. math::

        y + \tau \nabla g(y) = x,
        \qquad\text{i.e.}\qquad
        y = \operatorname{prox}_{\tau g}(x)
          = \operatorname*{arg\,min}_z \tfrac{1}{2\tau}|z - x|^2 + g(z),

    the optimality condition of the proximal problem. Newton's iteration is
    :math:`y \leftarrow y - (I + \tau \nabla^2 g(y))^{-1}(y + \tau\nabla g(y) - x)`.

    Parameters
    ----------
    grad, hess : callable
        :math:`\nabla g` (``(d,) -> (d,)``) and :math:`\nabla^2 g`
        (``(d,) -> (d, d)``).
    x : array_like, shape (d,)
        The current point :math:`x_k`.
    tau : float
        Step size, > 0.
    tol : float
        Stop when the residual's max-norm is <= ``tol``.
    max_iter : int
        Most Newton iterations; a ``RuntimeWarning`` names it when reached.

    Returns
    -------
    BackwardStep
        ``x`` the new point, ``n_iter``, ``converged``, ``history``.

    Raises
    ------
    ValueError, TypeError
        On a non-positive ``tau`` or ``tol``, a malformed ``x``, non-finite
        values from ``grad`` or ``hess``, or a singular Newton matrix
        :math:`I + \tau\nabla^2 g(y)` (the message names ``tau`` and the
        bound :math:`1/\max(-\lambda_{\min}(\nabla^2 g))` below which the
        proximal problem is strongly convex).

    Examples
    --------
    For :math:`g(x) = \lambda x^2/2`, :math:`y = x/(1 + \tau\lambda)`:

    >>> step = backward_euler_step(lambda y: 3 * y, lambda y: np.array([[3.0]]), [4.0], 1.0)
    >>> float(step.x[0])
    1.0
    """
    checks.is_callable("grad", grad)
    checks.is_callable("hess", hess)
    x = _point("x", x)
    tau = checks.positive_number("tau", tau)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=1)
    d = x.size
    y = x.copy()
    history = []
    step = _backward_euler_step(grad, hess, x, tau, tol, max_iter)
    if not step.converged:
        _warn_backward("backward_euler_step", step, tol, max_iter, stacklevel=2)
    return step


def _warn_backward(where, step, tol, max_iter, stacklevel):
    warnings.warn(f"{where}: Newton stopped after max_iter={max_iter} "
                  f"iterations with residual {step.history[-1]:.3g} > tol={tol:g}; "
                  "raise max_iter or reduce tau; the log is in BackwardStep.history",
                  RuntimeWarning, stacklevel=stacklevel + 1)


def _backward_euler_step(grad, hess, x, tau, tol, max_iter):
    """Newton's iteration of :func:`backward_euler_step` on checked input; never warns."""
    d = x.size
    y = x.copy()
    history = []
    for it in range(max_iter + 1):
        g = checks.returned_shape("grad", grad(y), (d,))
        if not np.isfinite(g).all():
            raise ValueError(f"grad must return finite values, got {g.tolist()} at the "
                             f"Newton iterate {it}, y = {y.tolist()}")
        residual = y + tau * g - x
        history.append(float(np.abs(residual).max()))
        if history[-1] <= tol:
            return BackwardStep(y, it, True, history)
        if it == max_iter:
            break
        H = checks.returned_shape("hess", hess(y), (d, d))
        if not np.isfinite(H).all():
            raise ValueError(f"hess must return finite values, got non-finite entries at "
                             f"the Newton iterate {it}, y = {y.tolist()}")
        jacobian = np.eye(d) + tau * H
        if np.linalg.cond(jacobian) > 1e14:
            lam = float(np.linalg.eigvalsh((H + H.T) / 2).min())
            bound = np.inf if lam >= 0 else 1 / -lam
            raise ValueError(
                f"backward_euler_step: the Newton matrix I + tau hess(y) is singular at "
                f"iterate {it} (tau = {tau:g}, smallest eigenvalue of hess(y) {lam:.3g}); "
                f"the proximal problem is strongly convex only for tau < {bound:.3g} = "
                "1/max(-eigenvalues of hess); reduce tau")
        y = y - np.linalg.solve(jacobian, residual)
    return BackwardStep(y, max_iter, False, history)


def backward_euler(grad, hess, x0, tau, n_steps, tol=1e-12, max_iter=50):
    r"""Backward (implicit) Euler iterates :math:`x_{k+1} = \operatorname{prox}_{\tau g}(x_k)`.

    .. math::

        x_{k+1} = (\mathrm{Id} + \tau \nabla g)^{-1}(x_k).

    Parameters and errors as in :func:`backward_euler_step`, with
    ``x0`` the start and ``n_steps`` >= 0 the number of steps.

    Returns
    -------
    ndarray, shape (n_steps + 1, d)

    Examples
    --------
    For :math:`g(x) = x^2/2` each step divides by :math:`1 + \tau`:

    >>> backward_euler(lambda x: x, lambda x: np.eye(1), [1.0], 1.0, 2)[:, 0].tolist()
    [1.0, 0.5, 0.25]
    """
    checks.is_callable("grad", grad)
    checks.is_callable("hess", hess)
    x = _point("x0", x0)
    tau = checks.positive_number("tau", tau)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=1)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    for k in range(n_steps):
        step = _backward_euler_step(grad, hess, path[k], tau, tol, max_iter)
        if not step.converged:
            _warn_backward(f"backward_euler, step k={k}", step, tol, max_iter, stacklevel=2)
        path[k + 1] = step.x
    return path


def ou_gaussian(t, m0, s0, beta=1.0):
    r"""Mean and variance of the Ornstein–Uhlenbeck flow started from a Gaussian.

    The Fokker–Planck equation
    :math:`\partial_t \rho = \partial_x(\rho\, x) + \beta\, \partial_{xx} \rho`
    (the Wasserstein gradient flow of
    :math:`f(\rho) = \int \frac{x^2}{2}\rho + \beta \int \rho\log\rho`)
    keeps :math:`\rho_0 = \mathcal N(m_0, s_0)` Gaussian, with

    .. math::

        m(t) = m_0 e^{-t}, \qquad s(t) = \beta + (s_0 - \beta) e^{-2t}.

    Parameters
    ----------
    t : float or array_like
        Times, >= 0.
    m0 : float
        Initial mean.
    s0 : float
        Initial variance, > 0.
    beta : float
        Diffusion coefficient (temperature), > 0.

    Returns
    -------
    m, s : ndarray
        Mean and variance at the times ``t``.

    Raises
    ------
    ValueError, TypeError
        On negative or non-numeric times, a non-finite ``m0`` or a
        non-positive ``s0`` or ``beta``.

    Examples
    --------
    >>> m, s = ou_gaussian(0.0, 2.0, 4.0)
    >>> float(m), float(s)
    (2.0, 4.0)
    """
    try:
        t = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"t must be a time or an array of times >= 0, got {checks._show(t)}") from None
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"t must hold finite times >= 0, got {t!r}")
    m0 = checks.real_number("m0", m0)
    s0 = checks.positive_number("s0", s0)
    beta = checks.positive_number("beta", beta)
    return m0 * np.exp(-t), beta + (s0 - beta) * np.exp(-2 * t)


def ou_jko_gaussian(m0, s0, tau, n_steps, beta=1.0):
    r"""The exact JKO iterates of the Ornstein–Uhlenbeck flow from a Gaussian.

    The JKO step of :math:`f(\rho) = \int \frac{x^2}{2}\rho + \beta\int\rho\log\rho`
    maps :math:`\mathcal N(m_k, s_k)` to :math:`\mathcal N(m_{k+1}, s_{k+1})`
    through the affine map :math:`T(x) = m_{k+1} + a_k (x - m_k)`, with

    .. math::

        m_{k+1} = \frac{m_k}{1 + \tau}, \qquad
        (1 + \tau) a_k^2 - a_k - \frac{\tau\beta}{s_k} = 0, \qquad
        s_{k+1} = a_k^2 s_k,

    :math:`a_k` being the positive root. This comes from the optimality
    condition :math:`\frac{T(x) - x}{\tau} + T(x) + \beta\,\partial_y
    \log\rho_{k+1}(T(x)) = 0`.

    Parameters
    ----------
    m0, s0 : float
        Initial mean and variance (> 0).
    tau : float
        Step, > 0.
    n_steps : int
        Number of steps, >= 0.
    beta : float
        Diffusion coefficient, > 0.

    Returns
    -------
    m, s : ndarray, shape (n_steps + 1,)
        Means and variances of the iterates.

    Raises
    ------
    ValueError, TypeError
        On a non-positive ``tau``, ``s0`` or ``beta``, a non-finite ``m0``,
        or negative ``n_steps``.

    Examples
    --------
    The stationary Gaussian :math:`\mathcal N(0, \beta)` is a fixed point:

    >>> m, s = ou_jko_gaussian(0.0, 1.0, 0.5, 3)
    >>> np.allclose(s, 1.0)
    True
    """
    s0 = checks.positive_number("s0", s0)
    tau = checks.positive_number("tau", tau)
    beta = checks.positive_number("beta", beta)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    m = np.empty(n_steps + 1)
    s = np.empty(n_steps + 1)
    m[0], s[0] = checks.real_number("m0", m0), s0
    for k in range(n_steps):
        a = (1 + np.sqrt(1 + 4 * (1 + tau) * tau * beta / s[k])) / (2 * (1 + tau))
        m[k + 1] = m[k] / (1 + tau)
        s[k + 1] = a * a * s[k]
    return m, s
