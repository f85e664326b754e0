r"""Score-based diffusion models in numpy.

The forward process is the Ornstein--Uhlenbeck (OU) process

.. math::

    dX_t = -X_t\, dt + \sqrt 2\, dW_t, \qquad
    X_t = e^{-t} X_0 + \sqrt{1 - e^{-2t}}\, Z, \quad Z \sim \mathcal N(0, I_d),

the Wasserstein gradient flow of :math:`\mathrm{KL}(\cdot\,|\,\mathcal N(0, I_d))`.
Its marginals :math:`p_t` are run backwards from noise to data by

* the reverse-time SDE (:func:`reverse_sde`),
  :math:`dY_s = \big(Y_s + 2\nabla\log p_{T-s}(Y_s)\big)\,ds + \sqrt 2\, dW_s`;
* the probability-flow ODE (:func:`probability_flow`),
  :math:`\dot y_s = y_s + \nabla\log p_{T-s}(y_s)`,

where :math:`s = T - t` is the reversed time. The score
:math:`\nabla\log p_t` is exact in closed form for a target that is a
mixture of Gaussians (:class:`GaussianMixture`), or learned from samples by
denoising score matching (:func:`fit_dsm_random_features`).

References
----------
Anderson (1982), Reverse-time diffusion equation models. Song et al. (2021),
Score-based generative modeling through stochastic differential equations.
Vincent (2011), A connection between score matching and denoising
autoencoders. Hyvärinen (2005), Estimation of non-normalized statistical
models by score matching.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import ot

from . import checks

__all__ = [
    "GaussianMixture", "ring_mixture", "ou_mean_scale", "ou_forward", "ou_path",
    "exact_score", "Generation", "time_grid", "reverse_sde", "probability_flow",
    "generate", "SAMPLERS", "RandomFeatureScore", "fit_dsm_random_features",
    "dsm_loss", "w2",
]

SAMPLERS = ("reverse SDE", "probability-flow ODE")


def _rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    return rng


def _time(name, t):
    return checks.nonnegative_number(name, t)


def _real_array(name, value):
    """``value`` as a float array; TypeError naming ``name`` for strings, objects, complex."""
    return checks.real_array(name, value, "an array of real numbers")


# --------------------------------------------------------------------------
# Gaussian mixtures
# --------------------------------------------------------------------------
class GaussianMixture:
    r"""A mixture of Gaussians :math:`p = \sum_k w_k\, \mathcal N(\mu_k, \Sigma_k)`.

    Its log-density and score are

    .. math::

        \log p(x) = \log \sum_k w_k\, \mathcal N(x; \mu_k, \Sigma_k), \qquad
        \nabla \log p(x) = -\sum_k r_k(x)\, \Sigma_k^{-1}(x - \mu_k),

    with responsibilities :math:`r_k(x) = w_k \mathcal N(x;\mu_k,\Sigma_k)/p(x)`
    computed by log-sum-exp, so that far-away points do not underflow.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Non-negative weights summing to one (within 1e-8).
    means : array_like, shape (K, d)
        Component means.
    covariances : array_like, shape (K, d, d)
        Symmetric positive definite covariance matrices.

    Raises
    ------
    ValueError
        For weights that are negative or do not sum to one, mismatched
        shapes, non-finite entries, or covariances that are not symmetric
        positive definite.

    Examples
    --------
    A standard Gaussian has score :math:`-x`:

    >>> import numpy as np
    >>> p = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    >>> p.score(np.array([[1.0, -2.0]])).tolist()
    [[-1.0, 2.0]]
    """

    def __init__(self, weights, means, covariances):
        w = np.atleast_1d(_real_array("weights", weights))
        mu = _real_array("means", means)
        S = _real_array("covariances", covariances)
        if w.ndim != 1 or len(w) == 0:
            raise ValueError(f"weights must have shape (K,) with K >= 1, got shape {w.shape}")
        K = len(w)
        if mu.ndim != 2 or mu.shape[0] != K or mu.shape[1] == 0:
            raise ValueError(f"means must have shape (K, d) = ({K}, d), got shape {mu.shape}")
        d = mu.shape[1]
        if S.shape != (K, d, d):
            raise ValueError(f"covariances must have shape (K, d, d) = {(K, d, d)}, got shape {S.shape}")
        for name, array in (("weights", w), ("means", mu), ("covariances", S)):
            if not np.isfinite(array).all():
                raise ValueError(f"{name} must contain only finite numbers, got {array.tolist()}")
        if (w < 0).any():
            raise ValueError(f"weights must be >= 0, got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-8:
            raise ValueError(f"weights must sum to 1, got {w.tolist()} (sum {w.sum():.10g})")
        if not np.allclose(S, np.swapaxes(S, 1, 2), rtol=1e-10, atol=1e-12):
            k = int(np.argmax(np.abs(S - np.swapaxes(S, 1, 2)).reshape(K, -1).max(1)))
            raise ValueError(f"covariances must be symmetric matrices; covariances[{k}] = {S[k].tolist()}")
        # positive definiteness by a Cholesky attempt: scale-free, so tiny but
        # valid covariances (e.g. 1e-14 I) pass and singular ones do not
        L = np.empty_like(S)
        for k in range(K):
            try:
                L[k] = np.linalg.cholesky(S[k])
            except np.linalg.LinAlgError:
                L[k] = np.nan
            if not (np.isfinite(L[k]).all() and (np.diagonal(L[k]) > 0).all()):
                raise ValueError(
                    f"covariances must be positive definite; covariances[{k}] = "
                    f"{S[k].tolist()} has eigenvalues {np.linalg.eigvalsh(S[k]).tolist()}"
                )
        self.weights, self.means, self.covariances = w, mu, S
        self._chol = L
        self._precision = np.linalg.inv(S)
        self._log_norm = (np.log(np.where(w > 0, w, 1.0))
                          - np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
                          - 0.5 * d * np.log(2 * np.pi))
        self._log_norm[w == 0] = -np.inf
        # (x - mu)^T P (x - mu) = <x x^T, P> - 2 <P mu, x> + <P mu, mu>: these
        # let the score work on arrays of shape (n, K) and (n, d^2), never (n, K, d)
        self._P_flat = self._precision.reshape(K, d * d)
        self._P_mu = np.einsum("kij,kj->ki", self._precision, mu)
        self._mu_P_mu = np.einsum("ki,ki->k", mu, self._P_mu)

    @property
    def dim(self):
        """The dimension d."""
        return self.means.shape[1]

    def __len__(self):
        return len(self.weights)

    def mean(self):
        r"""The mean :math:`\sum_k w_k \mu_k`, shape ``(d,)``."""
        return self.weights @ self.means

    def covariance(self):
        r"""The covariance :math:`\sum_k w_k(\Sigma_k + \mu_k\mu_k^\top) - m m^\top`, shape ``(d, d)``."""
        m = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covariances
                           + self.means[:, :, None] * self.means[:, None, :])
        return second - np.outer(m, m)

    def _log_terms(self, X):
        """Log of w_k N(x; mu_k, S_k) for the rows of X, shape (n, K)."""
        n, d = X.shape
        outer = (X[:, :, None] * X[:, None, :]).reshape(n, d * d)
        quad = outer @ self._P_flat.T - 2 * X @ self._P_mu.T + self._mu_P_mu
        return self._log_norm - 0.5 * quad

    def log_density(self, X):
        """Log-density at the rows of ``X`` (n, d); returns shape (n,)."""
        X = checks.particles("X", X, dim=self.dim)
        log_terms = self._log_terms(X)
        top = log_terms.max(1)
        return top + np.log(np.exp(log_terms - top[:, None]).sum(1))

    def score(self, X):
        r""":math:`\nabla \log p` at the rows of ``X`` (n, d); returns shape (n, d)."""
        X = checks.particles("X", X, dim=self.dim)
        n, d = X.shape
        log_terms = self._log_terms(X)
        log_terms -= log_terms.max(1, keepdims=True)
        r = np.exp(log_terms)
        r /= r.sum(1, keepdims=True)
        # -sum_k r_k P_k (x - mu_k) = -(sum_k r_k P_k) x + sum_k r_k P_k mu_k
        P_mean = (r @ self._P_flat).reshape(n, d, d)
        return r @ self._P_mu - np.einsum("nij,nj->ni", P_mean, X)

    def sample(self, n, rng, stratified=False):
        """``n`` samples, shape (n, d).

        Independent samples by default. With ``stratified=True`` the number
        of samples of component k is :math:`n w_k` rounded (largest
        remainders), which removes the multinomial noise of the component
        counts: a steadier reference sample for measuring distances.
        """
        n = checks.integer("n", n, minimum=1)
        rng = _rng(rng)
        if stratified:
            counts = np.floor(n * self.weights).astype(int)
            remainders = n * self.weights - counts
            counts[np.argsort(-remainders, kind="stable")[: n - counts.sum()]] += 1
            k = rng.permutation(np.repeat(np.arange(len(self)), counts))
        else:
            k = rng.choice(len(self), size=n, p=self.weights)
        Z = rng.standard_normal((n, self.dim))
        return self.means[k] + np.einsum("nij,nj->ni", self._chol[k], Z)

    def noised(self, t):
        r"""The law of the OU process at time ``t`` started from this mixture.

        .. math::

            p_t = \sum_k w_k\, \mathcal N\big(e^{-t}\mu_k,\;
                  e^{-2t}\Sigma_k + (1 - e^{-2t}) I_d\big).
        """
        t = _time("t", t)
        a, s2 = ou_mean_scale(t)
        S = a ** 2 * self.covariances + s2 * np.eye(self.dim)
        return GaussianMixture(self.weights, a * self.means, S)

    def __repr__(self):
        return f"<GaussianMixture K={len(self)} d={self.dim}>"


def ring_mixture(n_modes=8, radius=2.0, std=0.25):
    r"""Equal-weight Gaussians :math:`\mathcal N(\mu_k, \sigma^2 I_2)` on a circle.

    :math:`\mu_k = r(\cos(2\pi k/K), \sin(2\pi k/K))`, :math:`k = 0, \dots, K-1`.

    Examples
    --------
    >>> ring_mixture(4, radius=1.0).means.round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    n_modes = checks.integer("n_modes", n_modes, minimum=1)
    radius = checks.nonnegative_number("radius", radius)
    std = checks.positive_number("std", std)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    means = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    covs = np.broadcast_to(std ** 2 * np.eye(2), (n_modes, 2, 2))
    return GaussianMixture(np.full(n_modes, 1.0 / n_modes), means, covs)


# --------------------------------------------------------------------------
# the forward process
# --------------------------------------------------------------------------
def ou_mean_scale(t):
    r"""The OU coefficients :math:`(e^{-t}, 1 - e^{-2t})`: mean factor and noise variance.

    Examples
    --------
    >>> ou_mean_scale(0.0)
    (1.0, 0.0)

    Raises
    ------
    ValueError, TypeError
        For times that are negative, NaN or infinite, or not real numbers.
    """
    t = _real_array("t", t)
    if not (np.isfinite(t) & (t >= 0)).all():
        raise ValueError(f"t must contain finite times >= 0, got {t.tolist()}")
    a = np.exp(-t)
    s2 = -np.expm1(-2 * t)
    if a.ndim == 0:
        return float(a), float(s2)
    return a, s2


def ou_forward(X0, t, rng):
    r"""Exact samples of the OU process at time ``t`` from starting points ``X0``.

    .. math::

        X_t = e^{-t} X_0 + \sqrt{1 - e^{-2t}}\, Z, \qquad Z \sim \mathcal N(0, I_d).

    Parameters
    ----------
    X0 : array_like, shape (n, d)
    t : float
        Time, >= 0.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> ou_forward([[3.0]], 0.0, np.random.default_rng(0)).tolist()
    [[3.0]]
    """
    X0 = checks.particles("X0", X0)
    a, s2 = ou_mean_scale(_time("t", t))
    return a * X0 + np.sqrt(s2) * _rng(rng).standard_normal(X0.shape)


def ou_path(X0, times, rng):
    r"""OU paths sampled exactly at increasing ``times`` (Markov transitions).

    Between consecutive times :math:`t < t'` the transition is exact:
    :math:`X_{t'} = e^{-(t'-t)} X_t + \sqrt{1 - e^{-2(t'-t)}}\, Z`.

    Parameters
    ----------
    X0 : array_like, shape (n, d)
        States at ``times[0]``.
    times : array_like, shape (m,)
        Non-decreasing times.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (m, n, d)
    """
    X = checks.particles("X0", X0).copy()
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or len(times) == 0 or (np.diff(times) < 0).any() or not np.isfinite(times).all():
        raise ValueError(f"times must be a non-empty non-decreasing 1D array, got {times!r}")
    rng = _rng(rng)
    out = [X.copy()]
    for dt in np.diff(times):
        a, s2 = ou_mean_scale(dt)
        X = a * X + np.sqrt(s2) * rng.standard_normal(X.shape)
        out.append(X.copy())
    return np.array(out)


def exact_score(mixture):
    r"""The exact score :math:`(x, t) \mapsto \nabla\log p_t(x)` of the OU marginals of ``mixture``.

    Examples
    --------
    At large times every target looks like :math:`\mathcal N(0, I)`, whose score is :math:`-x`:

    >>> import numpy as np
    >>> s = exact_score(ring_mixture())
    >>> s(np.array([[1.0, 2.0]]), 30.0).round(6).tolist()
    [[-1.0, -2.0]]
    """
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a GaussianMixture, got {mixture!r}")

    def score(X, t):
        return mixture.noised(t).score(X)

    return score


# --------------------------------------------------------------------------
# samplers
# --------------------------------------------------------------------------
@dataclass
class Generation:
    """Stored states of a sampler run backwards from noise.

    Attributes
    ----------
    times : ndarray, shape (m,)
        Forward times :math:`t` of the stored states, decreasing from T.
    X : ndarray, shape (m, n, d)
        The states.
    """

    times: np.ndarray
    X: np.ndarray

    @property
    def samples(self):
        """The final states, shape (n, d)."""
        return self.X[-1]


def time_grid(n_steps, T, t_min):
    r"""The decreasing uniform grid :math:`t_k = T - k (T - t_{\min}) / N`, k = 0..N.

    Raises
    ------
    ValueError, TypeError
        For ``n_steps < 1`` or ``0 <= t_min < T`` violated.

    Examples
    --------
    >>> time_grid(2, 1.0, 0.0).tolist()
    [1.0, 0.5, 0.0]
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral):
        raise TypeError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps}")
    T = checks.positive_number("T", T)
    t_min = checks.nonnegative_number("t_min", t_min)
    if t_min >= T:
        raise ValueError(f"t_min must be < T = {T}, got {t_min}")
    return np.linspace(T, t_min, int(n_steps) + 1)


def _call_score(score, X, t):
    """Evaluate ``score(X, t)``; check its shape and that every entry is finite."""
    values = checks.returned_shape("score", score(X, t), X.shape)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"score returned {int(bad.sum())} non-finite entries (NaN or inf) at time t = {float(t):g}; "
            f"a score must be finite at every point and every time of the grid"
        )
    return values


def _check_state(X, k, t):
    """Raise if the particles left the floating-point range at step ``k`` (time ``t``)."""
    bad = ~np.isfinite(X)
    if bad.any():
        raise ValueError(
            f"the particles blew up at step {k} (t = {float(t):g}, {int(bad.sum())} non-finite "
            f"entries): the score is too large for this step; raise n_steps or check the score"
        )


def _start(X_T, n_steps, T, t_min, store_every, score):
    X = checks.particles("X_T", X_T).copy()
    times = time_grid(n_steps, T, t_min)
    store_every = n_steps if store_every is None else checks.integer("store_every", store_every, minimum=1)
    checks.is_callable("score", score)
    return X, times, store_every


def reverse_sde(score, X_T, n_steps, rng, T=5.0, t_min=1e-3, store_every=None):
    r"""Generate samples with the reverse-time SDE (Euler--Maruyama).

    For the forward OU process (:math:`f(x) = -x`, :math:`g = \sqrt 2`) the
    reversed process :math:`Y_s = X_{T-s}` solves
    :math:`dY = \big(-f(Y) + g^2 \nabla\log p_{T-s}(Y)\big)ds + g\, dW`, that is

    .. math::

        y_{k+1} = y_k + h_k\big(y_k + 2\, s(y_k, t_k)\big) + \sqrt{2 h_k}\, Z_k,
        \qquad h_k = t_k - t_{k+1},

    on the grid of :func:`time_grid`; weak order one in the step.

    Parameters
    ----------
    score : callable
        ``score(X, t)`` for X of shape (n, d) returns (n, d): the (exact or
        learned) score of :math:`p_t`.
    X_T : array_like, shape (n, d)
        Starting points, usually samples of :math:`\mathcal N(0, I_d)`
        (close to :math:`p_T` for large ``T``).
    n_steps : int
        Number of steps N >= 1.
    rng : numpy.random.Generator
        Source of the noise.
    T, t_min : float
        Start and end (forward) times, ``0 <= t_min < T``.
    store_every : int, optional
        Keep every ``store_every``-th state (and the last), an integer >= 1;
        default (None): only the first and the last.

    Returns
    -------
    Generation

    Raises
    ------
    ValueError, TypeError
        For a non-positive number of steps, bad times, ``store_every`` not
        an integer >= 1, badly shaped ``X_T``, a score returning the wrong
        shape or non-finite values, or particles that blow up.

    Examples
    --------
    With the exact score of :math:`\mathcal N(0, I)` (the OU equilibrium)
    the samples stay standard normal:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> out = reverse_sde(lambda X, t: -X, rng.standard_normal((20000, 1)), 50, rng)
    >>> round(float(out.samples.var()), 1)
    1.0
    """
    X, times, store = _start(X_T, n_steps, T, t_min, store_every, score)
    rng = _rng(rng)
    kept_t, kept = [times[0]], [X.copy()]
    for k in range(len(times) - 1):
        h = times[k] - times[k + 1]
        score_k = _call_score(score, X, times[k])
        with np.errstate(over="ignore", invalid="ignore"):
            X += h * (X + 2 * score_k) + np.sqrt(2 * h) * rng.standard_normal(X.shape)
        _check_state(X, k + 1, times[k + 1])
        if (k + 1) % store == 0 or k + 1 == len(times) - 1:
            kept_t.append(times[k + 1])
            kept.append(X.copy())
    return Generation(np.array(kept_t), np.array(kept))


def probability_flow(score, X_T, n_steps, T=5.0, t_min=1e-3, method="heun", store_every=None):
    r"""Generate samples with the probability-flow ODE, integrated backwards in time.

    The forward flow :math:`\dot x = f(x) - \tfrac12 g^2 \nabla\log p_t(x)
    = -x - \nabla\log p_t(x)` has the marginals :math:`p_t` of the OU
    process. Backwards, with :math:`b(y, t) = y + s(y, t)` and
    :math:`h_k = t_k - t_{k+1}`, the Euler and Heun steps are

    .. math::

        \tilde y = y_k + h_k\, b(y_k, t_k), \qquad
        y_{k+1} = y_k + \tfrac{h_k}{2}\big(b(y_k, t_k) + b(\tilde y, t_{k+1})\big),

    (Euler stops at :math:`\tilde y`): first and second order in the step.

    Parameters
    ----------
    score : callable
        ``score(X, t)`` for X of shape (n, d) returns (n, d).
    X_T : array_like, shape (n, d)
        Starting points.
    n_steps : int
        Number of steps N >= 1.
    T, t_min : float
        Start and end (forward) times, ``0 <= t_min < T``.
    method : {"heun", "euler"}
    store_every : int, optional
        Keep every ``store_every``-th state (and the last), an integer >= 1;
        default (None): only the first and the last.

    Returns
    -------
    Generation

    Raises
    ------
    ValueError, TypeError
        As :func:`reverse_sde`, and for an unknown ``method``.

    Examples
    --------
    With the score :math:`-x` of the equilibrium nothing moves:

    >>> import numpy as np
    >>> out = probability_flow(lambda X, t: -X, [[0.7]], 10)
    >>> out.samples.tolist()
    [[0.7]]
    """
    if method not in ("heun", "euler"):
        raise ValueError(f"method must be 'heun' or 'euler', got {method!r}")
    X, times, store = _start(X_T, n_steps, T, t_min, store_every, score)
    kept_t, kept = [times[0]], [X.copy()]
    b = X + _call_score(score, X, times[0])
    for k in range(len(times) - 1):
        h = times[k] - times[k + 1]
        with np.errstate(over="ignore", invalid="ignore"):
            pred = X + h * b
        _check_state(pred, k + 1, times[k + 1])
        b_next = pred + _call_score(score, pred, times[k + 1])
        if method == "euler":
            X = pred
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                X = X + 0.5 * h * (b + b_next)
            _check_state(X, k + 1, times[k + 1])
            b_next = X + _call_score(score, X, times[k + 1])
        b = b_next
        if (k + 1) % store == 0 or k + 1 == len(times) - 1:
            kept_t.append(times[k + 1])
            kept.append(X.copy())
    return Generation(np.array(kept_t), np.array(kept))


def generate(score, n, d, n_steps, rng, sampler="reverse SDE", T=5.0, t_min=1e-3,
             store_every=None):
    r"""Draw ``n`` starting points from :math:`\mathcal N(0, I_d)` and run a sampler.

    Parameters
    ----------
    score : callable
        ``score(X, t)``.
    n, d : int
        Number of samples and dimension.
    n_steps : int
        Number of steps, >= 1.
    rng : numpy.random.Generator
    sampler : {"reverse SDE", "probability-flow ODE"}
        :func:`reverse_sde` or :func:`probability_flow` (Heun).
    T, t_min, store_every
        As in the samplers.

    Returns
    -------
    Generation

    Raises
    ------
    ValueError, TypeError
        For an unknown sampler and as the samplers do.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    n = checks.integer("n", n, minimum=1)
    d = checks.integer("d", d, minimum=1)
    rng = _rng(rng)
    time_grid(n_steps, T, t_min)  # validate before drawing from rng
    if store_every is not None:
        checks.integer("store_every", store_every, minimum=1)
    checks.is_callable("score", score)
    X_T = rng.standard_normal((n, d))
    if sampler == "reverse SDE":
        return reverse_sde(score, X_T, n_steps, rng, T, t_min, store_every)
    return probability_flow(score, X_T, n_steps, T, t_min, "heun", store_every)


# --------------------------------------------------------------------------
# denoising score matching with random features
# --------------------------------------------------------------------------
class RandomFeatureScore:
    r"""A score model linear in random Fourier features of :math:`(x, t)`.

    The model predicts the noise :math:`\varepsilon` of
    :math:`x_t = e^{-t}x_0 + \sigma_t\varepsilon`, :math:`\sigma_t^2 = 1 - e^{-2t}`,
    and the score follows:

    .. math::

        \hat\varepsilon(x, t) = W^\top \varphi(x, t), \qquad
        \varphi(x, t) = \Big(\sqrt{2/m}\,\cos(\Omega_t x + \omega\, \ell(t) + \beta),\;
                             \sigma_t x,\; x\Big), \qquad
        s(x, t) = -\hat\varepsilon(x, t)/\sigma_t,

    where :math:`\ell(t) = \log\sigma_t`, the rows of :math:`\Omega_t` are
    standard normal vectors divided by :math:`\sqrt{\sigma_t^2 + \delta^2}`
    (finer features at small noise, down to the length :math:`\delta`,
    ``length``),
    and :math:`\omega`, :math:`\beta` are random. Build it with
    :func:`fit_dsm_random_features`.

    The model is only trained on times in :math:`[t_{\min}, T]` (attributes
    ``t_min`` and ``T``). Calling it at a time below ``t_min`` raises a
    ``ValueError``: there it extrapolates, and its error grows quickly (the
    tests measure a relative error above 2 at t = 0.003 for a fit with
    ``t_min = 0.01``). Above ``T`` every :math:`p_t` is close to
    :math:`\mathcal N(0, I)` and the model is allowed.
    """

    def __init__(self, Omega, omega, beta, W, length, t_min, T):
        self.Omega, self.omega, self.beta, self.W = Omega, omega, beta, W
        self.length = length
        self.t_min, self.T = float(t_min), float(T)

    @property
    def n_features(self):
        return len(self.beta)

    def features(self, X, t):
        r""":math:`\varphi(x, t)` for the rows of X (n, d) at times t (scalar or (n,)); shape (n, m + 2d).

        Raises ``ValueError`` for times that are not finite and > 0 (the
        features use :math:`\log\sigma_t`, infinite at t = 0).
        """
        n = len(X)
        t = np.broadcast_to(_real_array("t", t), (n,))
        if not (np.isfinite(t) & (t > 0)).all():
            raise ValueError(f"t must contain finite times > 0 (the features use log sigma_t), "
                             f"got {np.unique(t).tolist()[:5]}")
        _, s2 = ou_mean_scale(t)
        sigma = np.sqrt(s2)[:, None]
        scale = np.sqrt(sigma ** 2 + self.length ** 2)
        # the inner dimension d is small: d broadcast products beat a BLAS call
        phase = np.log(sigma) * self.omega + self.beta
        for j in range(X.shape[1]):
            phase = phase + (X[:, j:j + 1] / scale) * self.Omega[:, j]
        rff = np.sqrt(2.0 / self.n_features) * np.cos(phase)
        return np.hstack([rff, sigma * X, X])

    def epsilon(self, X, t):
        """The predicted noise, shape (n, d)."""
        return self.features(X, t) @ self.W

    def __call__(self, X, t):
        """The score :math:`-\\hat\\varepsilon(x, t)/\\sigma_t`, shape (n, d).

        Raises ``ValueError`` for a time below ``t_min``, outside the training range.
        """
        X = checks.particles("X", X, dim=self.W.shape[1])
        t = _time("t", t)
        if t < self.t_min * (1 - 1e-12):
            raise ValueError(
                f"t = {t:g} is below the training range [t_min, T] = [{self.t_min:g}, {self.T:g}] "
                f"of this learned score; stop the sampler at t_min >= {self.t_min:g} or refit "
                f"with a smaller t_min"
            )
        _, s2 = ou_mean_scale(t)
        return -self.epsilon(X, t) / np.sqrt(s2)


def fit_dsm_random_features(X0, rng, n_features=200, n_noise=10, T=5.0, t_min=1e-2,
                            length=0.25, time_frequency=1.0, ridge=1e-5):
    r"""Fit a :class:`RandomFeatureScore` by denoising score matching (least squares).

    For data :math:`x_0`, times :math:`t` uniform on :math:`[t_{\min}, T]`
    and noise :math:`\varepsilon \sim \mathcal N(0, I_d)`, with
    :math:`x_t = e^{-t}x_0 + \sigma_t \varepsilon`, the weighted
    denoising score matching loss

    .. math::

        \E\,\sigma_t^2\,\big|s(x_t, t) + \varepsilon/\sigma_t\big|^2
        = \E\,\big|\hat\varepsilon(x_t, t) - \varepsilon\big|^2

    is quadratic in the weights W of the model, so its minimiser (with a
    ridge penalty :math:`\lambda |W|^2` times the number of samples) solves
    the normal equations :math:`(\Phi^\top\Phi + \lambda N I) W = \Phi^\top E`.

    Parameters
    ----------
    X0 : array_like, shape (n, d)
        Training data (samples of the target).
    rng : numpy.random.Generator
        Draws the random features, the times and the noise.
    n_features : int
        Number of random Fourier features m >= 1.
    n_noise : int
        Noisy copies of each data point, >= 1 (N = n * n_noise regressions).
    T, t_min : float
        Range of training times, ``0 < t_min < T``.
    length : float
        Smallest length scale of the features, > 0 (about the width of the
        target's finest details).
    time_frequency : float
        Standard deviation of the frequencies in :math:`\log\sigma_t`, > 0.
    ridge : float
        Ridge parameter :math:`\lambda \ge 0`.

    Returns
    -------
    RandomFeatureScore
        It stores ``t_min`` and ``T`` and refuses to be evaluated below
        ``t_min``, where it was never trained.

    Raises
    ------
    ValueError, TypeError
        For bad sizes, times or parameters.

    References
    ----------
    Vincent (2011); Hyvärinen (2005).

    Examples
    --------
    Data from :math:`\mathcal N(0, I)`, the OU equilibrium: every
    :math:`p_t` is :math:`\mathcal N(0, I)`, with score :math:`-x`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> model = fit_dsm_random_features(rng.standard_normal((2000, 2)), rng, n_features=20)
    >>> bool(np.abs(model(np.array([[1.0, -0.5]]), 1.0) - [[-1.0, 0.5]]).max() < 0.1)
    True
    """
    X0 = checks.particles("X0", X0)
    rng = _rng(rng)
    n_features = checks.integer("n_features", n_features, minimum=1)
    n_noise = checks.integer("n_noise", n_noise, minimum=1)
    T = checks.positive_number("T", T)
    t_min = checks.positive_number("t_min", t_min)
    if t_min >= T:
        raise ValueError(f"t_min must be < T = {T}, got {t_min}")
    length = checks.positive_number("length", length)
    time_frequency = checks.positive_number("time_frequency", time_frequency)
    ridge = checks.nonnegative_number("ridge", ridge)
    n, d = X0.shape
    Omega = rng.standard_normal((n_features, d))
    omega = time_frequency * rng.standard_normal(n_features)
    beta = rng.uniform(0, 2 * np.pi, n_features)
    model = RandomFeatureScore(Omega, omega, beta, np.zeros((n_features + 2 * d, d)), length,
                               t_min, T)
    X = np.repeat(X0, n_noise, axis=0)
    t = rng.uniform(t_min, T, len(X))
    a, s2 = ou_mean_scale(t)
    eps = rng.standard_normal(X.shape)
    Xt = a[:, None] * X + np.sqrt(s2)[:, None] * eps
    Phi = model.features(Xt, t)
    gram = Phi.T @ Phi
    gram[np.diag_indices_from(gram)] += ridge * len(Phi)
    model.W = np.linalg.solve(gram, Phi.T @ eps)
    return model


def dsm_loss(score, X0, rng, n_times=20, T=5.0, t_min=1e-2):
    r"""Denoising score matching loss of ``score`` on data ``X0`` (Monte Carlo).

    .. math::

        L(s) = \E\,\sigma_t^2\,\big|s(x_t, t) + \varepsilon/\sigma_t\big|^2,
        \qquad x_t = e^{-t}x_0 + \sigma_t\varepsilon,

    with :math:`x_0` running over ``X0``, one fresh :math:`\varepsilon` per
    point and per time, and the average over :math:`t \sim U[t_{\min}, T]`
    replaced by the midpoint rule on ``n_times`` times. It differs from the
    explicit loss :math:`\E\,\sigma_t^2 |s(x_t, t) - \nabla\log p_t(x_t)|^2`
    by a constant that does not depend on ``s`` (Vincent, 2011).

    Parameters
    ----------
    score : callable
        ``score(X, t)``.
    X0 : array_like, shape (n, d)
        Data.
    rng : numpy.random.Generator
        Draws the noise (use the same seed to compare two scores on the same noise).
    n_times : int
        Number of quadrature times, >= 1.
    T, t_min : float
        Range of times, ``0 < t_min < T``.

    Returns
    -------
    float
    """
    X0 = checks.particles("X0", X0)
    rng = _rng(rng)
    n_times = checks.integer("n_times", n_times, minimum=1)
    T = checks.positive_number("T", T)
    t_min = checks.positive_number("t_min", t_min)
    if t_min >= T:
        raise ValueError(f"t_min must be < T = {T}, got {t_min}")
    edges = np.linspace(t_min, T, n_times + 1)
    total = 0.0
    for t in 0.5 * (edges[1:] + edges[:-1]):
        a, s2 = ou_mean_scale(t)
        eps = rng.standard_normal(X0.shape)
        Xt = a * X0 + np.sqrt(s2) * eps
        values = _call_score(score, Xt, t)
        total += ((np.sqrt(s2) * values + eps) ** 2).sum(1).mean()
    return float(total / n_times)


# --------------------------------------------------------------------------
# quality
# --------------------------------------------------------------------------
def w2(X, Y):
    r"""Exact Wasserstein distance :math:`W_2` between two empirical measures.

    .. math::

        W_2(\mu, \nu) = \Big(\min_{\pi \in \Pi(\mu, \nu)} \sum_{ij} \pi_{ij} |x_i - y_j|^2\Big)^{1/2},

    with uniform weights, computed by POT's exact solver: ``ot.emd2`` with the
    squared Euclidean cost returns :math:`W_2^2`, whose square root is
    returned.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)

    Returns
    -------
    float

    Examples
    --------
    A translation by 3 moves every point by 3:

    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> round(w2(X, X + [3.0, 0.0]), 10)
    3.0
    """
    X = checks.particles("X", X)
    Y = checks.particles("Y", Y, dim=X.shape[1])
    a = np.full(len(X), 1.0 / len(X))
    b = np.full(len(Y), 1.0 / len(Y))
    cost = ot.dist(X, Y)
    value = ot.emd2(a, b, cost, numItermax=10_000_000)
    return float(np.sqrt(max(value, 0.0)))
