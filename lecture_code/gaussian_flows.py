r"""Gaussian measures moved by linear velocity fields (exercises 3 and 4).

A linear map sends a Gaussian to a Gaussian: if :math:`X \sim \mathcal N(m, \Sigma)`
then :math:`MX \sim \mathcal N(Mm, M \Sigma M^\top)`. Hence

* the recursion :math:`X_{k+1} = (I - \tau A_k) X_k` keeps a Gaussian law, with
  :math:`\Sigma_{k+1} = (I - \tau A_k)\Sigma_k (I - \tau A_k)^\top`;
* the flow :math:`\dot X = -A_t X` keeps it too, with the Lyapunov equation
  :math:`\dot\Sigma = -A_t\Sigma - \Sigma A_t^\top`;
* the Wasserstein gradient flow of the interaction energy with kernel
  :math:`k(x, y) = \langle Ax, y\rangle\langle Bx, y\rangle` has the linear
  velocity :math:`-S(Q)x`, where :math:`Q = \int x x^\top d\alpha` and
  :math:`S(Q) = M + M^\top`, :math:`M = A^\top Q B + A Q B^\top`.
"""

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from . import checks
from .particles import Kernel

__all__ = ["covariance_recursion", "lyapunov_flow", "linear_recursion_samples",
           "product_kernel", "product_kernel_velocity_matrix", "second_moment_flow"]


def _square(name, M, d=None):
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be a square matrix (d, d), got shape {M.shape}")
    if d is not None and M.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d}, {d}) to match the covariance, "
                         f"got shape {M.shape}")
    if not np.isfinite(M).all():
        raise ValueError(f"{name} must contain only finite numbers")
    return M


def covariance(name, Sigma, tol=1e-10):
    """Check that ``Sigma`` is a symmetric positive semi-definite matrix and return it."""
    Sigma = _square(name, Sigma)
    scale = max(1.0, np.abs(Sigma).max())
    asymmetry = np.abs(Sigma - Sigma.T).max()
    if asymmetry > tol * scale:
        raise ValueError(f"{name} must be symmetric, got |{name} - {name}^T| = {asymmetry:.3g}")
    lowest = np.linalg.eigvalsh(Sigma).min()
    if lowest < -tol * scale:
        raise ValueError(f"{name} must be positive semi-definite, got an eigenvalue {lowest:.3g}")
    return Sigma


def _matrix_of_time(A, d):
    """Turn a constant matrix or a callable t -> (d, d) into a checked callable."""
    if callable(A):
        return lambda t: _square("A(t)", A(t), d)
    A = _square("A", A, d)
    return lambda t: A


def covariance_recursion(Sigma0, A, tau, n_steps):
    r"""Covariances of :math:`X_{k+1} = (I - \tau A_{t_k}) X_k`, :math:`t_k = k\tau`.

    .. math::

        \Sigma_{k+1} = (I - \tau A_{t_k})\, \Sigma_k\, (I - \tau A_{t_k})^\top .

    Parameters
    ----------
    Sigma0 : array_like, shape (d, d)
        The initial covariance, symmetric positive semi-definite.
    A : array_like of shape (d, d), or callable
        The matrix, constant or a function ``A(t)`` of time.
    tau : float
        The step, > 0.
    n_steps : int
        The number of steps, >= 0.

    Returns
    -------
    ndarray, shape (n_steps + 1, d, d)

    Examples
    --------
    >>> covariance_recursion([[1.0]], [[1.0]], 0.5, 2)[-1].item()  # (1/2)^4
    0.0625
    """
    Sigma = covariance("Sigma0", Sigma0)
    d = len(Sigma)
    A_of = _matrix_of_time(A, d)
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    out = [Sigma]
    for k in range(n_steps):
        step = np.eye(d) - tau * A_of(k * tau)
        Sigma = step @ Sigma @ step.T
        out.append(Sigma)
    return np.array(out)


def lyapunov_flow(Sigma0, A, times, rtol=1e-10, atol=1e-12):
    r"""Solve :math:`\dot\Sigma = -A_t\Sigma - \Sigma A_t^\top` at the given times.

    For a constant ``A`` the solution is the closed form
    :math:`\Sigma_t = e^{-tA}\Sigma_0 e^{-tA^\top}`; for ``A`` a function of
    time it is integrated by SciPy's adaptive Runge-Kutta method (DOP853) to
    the tolerances ``rtol``, ``atol``.

    Returns
    -------
    ndarray, shape (len(times), d, d)
    """
    Sigma0 = covariance("Sigma0", Sigma0)
    d = len(Sigma0)
    times = _checked_times(times)
    if not callable(A):
        A = _square("A", A, d)
        return np.array([expm(-t * A) @ Sigma0 @ expm(-t * A).T for t in times])
    A_of = _matrix_of_time(A, d)

    def rhs(t, y):
        S, M = y.reshape(d, d), A_of(t)
        return (-M @ S - S @ M.T).ravel()

    return _integrate(rhs, Sigma0, times, rtol, atol, "the Lyapunov equation")


def _checked_times(times):
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or len(times) == 0 or (times < 0).any() or not np.isfinite(times).all():
        raise ValueError(f"times must be a non-empty list of finite times >= 0, got {times}")
    return times


def _integrate(rhs, start, times, rtol, atol, what):
    """Solve a matrix ODE from ``start`` at t = 0 and return it at ``times`` (any order)."""
    d = len(start)
    order = np.argsort(times)
    out = np.empty((len(times), d, d))
    at_zero = times[order] == 0.0
    out[order[at_zero]] = start
    later = order[~at_zero]
    if len(later):
        solution = solve_ivp(rhs, (0.0, times.max()), start.ravel(), method="DOP853",
                             t_eval=times[later], rtol=rtol, atol=atol)
        if not solution.success or solution.y.shape[1] != len(later):
            raise RuntimeError(f"{what} could not be integrated up to t = {times.max():g} "
                               f"(it may blow up before): {solution.message}")
        out[later] = solution.y.T.reshape(-1, d, d)
    return out


def linear_recursion_samples(X0, A, tau, n_steps):
    r"""Monte Carlo samples of :math:`X_{k+1} = (I - \tau A_{t_k}) X_k`.

    Returns an array of shape ``(n_steps + 1, n, d)``.
    """
    X = checks.particles("X0", X0)
    d = X.shape[1]
    A_of = _matrix_of_time(A, d)
    tau = checks.positive_number("tau", tau)
    n_steps = checks.integer("n_steps", n_steps, minimum=0)
    out = [X]
    for k in range(n_steps):
        X = X - tau * X @ A_of(k * tau).T
        out.append(X)
    return np.array(out)


def product_kernel(A, B):
    r"""The kernel :math:`k(x, y) = \langle Ax, y\rangle \langle Bx, y\rangle`.

    Its partial gradients are
    :math:`\nabla_1 k = (A^\top y)\langle Bx, y\rangle + \langle Ax, y\rangle (B^\top y)` and
    :math:`\nabla_2 k = (Ax)\langle Bx, y\rangle + \langle Ax, y\rangle (Bx)`; it
    is not symmetric unless ``A`` and ``B`` are.
    """
    A, B = _square("A", A), _square("B", B)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")

    def value(x, y):
        return (y * (x @ A.T)).sum(-1) * (y * (x @ B.T)).sum(-1)

    def grad_x(x, y):
        ax_y = (y * (x @ A.T)).sum(-1)[..., None]
        bx_y = (y * (x @ B.T)).sum(-1)[..., None]
        return (y @ A) * bx_y + ax_y * (y @ B)

    def grad_y(x, y):
        ax, bx = x @ A.T, x @ B.T
        return ax * (y * bx).sum(-1)[..., None] + (y * ax).sum(-1)[..., None] * bx

    return Kernel(value, grad_x, grad_y, name="<Ax,y><Bx,y>")


def product_kernel_velocity_matrix(A, B, Q):
    r"""The matrix :math:`S(Q) = M + M^\top`, :math:`M = A^\top Q B + A Q B^\top`.

    For :math:`f(\alpha) = \iint \langle Ax, y\rangle\langle Bx, y\rangle\, d\alpha\, d\alpha`
    the first variation is :math:`x^\top M x` (up to a constant) with
    :math:`Q = \int y y^\top d\alpha(y)` the second-moment matrix, so
    :math:`\nabla_{\mathcal W} f(\alpha)(x) = S(Q)\, x`.
    """
    A, B = _square("A", A), _square("B", B)
    Q = _square("Q", Q, len(A))
    M = A.T @ Q @ B + A @ Q @ B.T
    return M + M.T


def second_moment_flow(A, B, Q0, times, rtol=1e-10, atol=1e-12):
    r"""Second moments along the flow of the product kernel: :math:`\dot Q = -S(Q)Q - QS(Q)`.

    The velocity :math:`-S(Q_t)x` is linear, so for any initial measure the
    second-moment matrix solves this closed ODE; for
    :math:`\alpha_0 = \mathcal N(0, \Sigma_0)` the measure stays a centred
    Gaussian with covariance :math:`\Sigma_t = Q_t`. The ODE is cubic in
    :math:`Q` and can blow up in finite time; a ``RuntimeError`` says so.
    """
    Q0 = covariance("Q0", Q0)
    d = len(Q0)

    def rhs(t, y):
        Q = y.reshape(d, d)
        S = product_kernel_velocity_matrix(A, B, Q)
        return (-S @ Q - Q @ S).ravel()

    return _integrate(rhs, Q0, _checked_times(times), rtol, atol, "the second-moment ODE")
