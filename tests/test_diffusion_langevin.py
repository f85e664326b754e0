"""Fokker--Planck on a grid, Langevin particles and the deterministic score flow
(lecture_code.langevin), against the Ornstein--Uhlenbeck closed form."""

import doctest

import numpy as np
import pytest
from scipy.special import logsumexp

from lecture_code import langevin

M0, S0 = 2.0, 0.25  # start N(M0, S0) (S0 is a variance)


def V(x):
    return 0.5 * x ** 2


def grad_V(X):
    return X


def rho0(x):
    return np.exp(-(x - M0) ** 2 / (2 * S0))


def ou_mean_var(t):
    return M0 * np.exp(-t), 1 + (S0 - 1) * np.exp(-2 * t)


def ou_density(x, t):
    m, v = ou_mean_var(t)
    return np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)


def double_well(x):
    return (x ** 2 - 1) ** 2


def slope(h, err):
    return np.polyfit(np.log(h), np.log(err), 1)[0]


def test_doctests():
    result = doctest.testmod(langevin, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


# --------------------------------------------------------------------------
# grid
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def double_well_flow():
    start = lambda x: np.exp(-(x - 0.4) ** 2 / 0.02)  # noqa: E731
    return langevin.fokker_planck_1d(double_well, start, -3, 3, 300, 0.05, 400)


def test_grid_conserves_mass_and_positivity(double_well_flow):
    flow = double_well_flow
    mass = flow.rho.sum(1) * flow.dx
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=1e-12)
    assert (flow.rho > 0).all()


def test_grid_free_energy_decreases_to_minus_log_Z(double_well_flow):
    flow = double_well_flow
    assert (np.diff(flow.energy) < 1e-12).all()
    # min F = -log Z with Z = int e^{-V} (here computed on the same grid)
    Z = np.exp(-double_well(flow.x)).sum() * flow.dx
    assert flow.energy[-1] == pytest.approx(-np.log(Z), abs=1e-6)


def test_grid_equilibrium_is_fixed():
    flow = langevin.fokker_planck_1d(double_well, lambda x: np.exp(-double_well(x)), -3, 3, 100, 1.0, 5)
    np.testing.assert_allclose(flow.rho[-1], flow.rho[0], rtol=1e-12)


def test_grid_matches_ou_closed_form_order_two_in_space():
    # tau small enough that the time error (~1e-5) is below the space errors
    errors, widths = [], []
    for n in (40, 80, 160):
        flow = langevin.fokker_planck_1d(V, rho0, -8, 8, n, 2e-4, 2500, store_every=10 ** 6)
        errors.append(np.abs(flow.rho[-1] - ou_density(flow.x, flow.times[-1])).max())
        widths.append(flow.dx)
    assert errors[-1] < 1e-3
    assert 1.8 < slope(widths, errors) < 2.3


def test_grid_matches_ou_closed_form_order_one_in_time():
    errors, taus = [], [0.05, 0.025, 0.0125]
    for tau in taus:
        flow = langevin.fokker_planck_1d(V, rho0, -8, 8, 400, tau, int(round(0.5 / tau)), store_every=10 ** 6)
        errors.append(np.abs(flow.rho[-1] - ou_density(flow.x, 0.5)).max())
    assert 0.9 < slope(taus, errors) < 1.1


# --------------------------------------------------------------------------
# particles
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def start():
    return M0 + np.sqrt(S0) * np.random.default_rng(0).standard_normal((20000, 1))


def test_langevin_matches_ou_closed_form(start):
    path = langevin.langevin(grad_V, start, 0.01, 100, np.random.default_rng(1), store_every=50)
    m, v = ou_mean_var(1.0)
    X = path.X[-1, :, 0]
    assert path.times[-1] == pytest.approx(1.0)
    # statistical error of the mean ~ sqrt(v/n) = 0.007; time-step bias O(tau) ~ 0.01
    assert X.mean() == pytest.approx(m, abs=0.04)
    assert X.var() == pytest.approx(v, abs=0.04)


def test_langevin_stationary_variance_is_2_over_2_minus_tau():
    """The Euler--Maruyama chain for V = x^2/2 has stationary variance 2/(2 - tau): first-order bias."""
    rng = np.random.default_rng(2)
    for tau in (0.2, 0.5):
        path = langevin.langevin(grad_V, rng.standard_normal((20000, 1)), tau, 60, rng)
        # 20000 samples: relative standard error of a variance ~ 1%
        assert path.X[-1].var() == pytest.approx(2 / (2 - tau), rel=0.04)


def test_kde_score_matches_finite_differences():
    rng = np.random.default_rng(3)
    X, h = rng.standard_normal((50, 2)), 0.4

    def log_kde(Y):
        sq = ((Y[:, None, :] - X[None]) ** 2).sum(-1)
        return logsumexp(-sq / (2 * h ** 2), axis=1)

    delta = 1e-5
    fd = np.column_stack([(log_kde(X + delta * e) - log_kde(X - delta * e)) / (2 * delta)
                          for e in np.eye(2)])
    np.testing.assert_allclose(langevin.kde_score(X, h), fd, rtol=1e-6, atol=1e-6)


def test_score_flow_matches_ou_closed_form():
    X0 = M0 + np.sqrt(S0) * np.random.default_rng(4).standard_normal((500, 1))
    h, tau = 0.15, 0.02
    path = langevin.score_flow(grad_V, X0, tau, 50, width=h)
    m, v = ou_mean_var(1.0)
    # the flow is deterministic: the error is the sample error of X0 (its mean is
    # off by ~0.5/sqrt(500) = 0.022, times e^{-1}), the time step (tau = 0.02)
    # and the bias of the smoothed score (~h^2 = 0.0225 on the variance)
    assert path.X[-1].mean() == pytest.approx(m, abs=0.03)
    assert path.X[-1].var() == pytest.approx(v, abs=0.05)


def test_score_flow_stationary_variance_is_one_minus_h_squared():
    X0 = np.random.default_rng(5).standard_normal((500, 1))
    h = 0.3
    path = langevin.score_flow(grad_V, X0, 0.1, 60, width=h)
    assert path.X[-1].var() == pytest.approx(1 - h ** 2, abs=0.02)


def test_w2_particles_to_grid_matches_gaussian_formula():
    """W2 between N(m1, v1) and N(m2, v2) is sqrt((m1 - m2)^2 + (sqrt v1 - sqrt v2)^2)."""
    X = 1.0 + 0.5 * np.random.default_rng(6).standard_normal((20000, 1))
    x = np.linspace(-8, 8, 2001)
    rho = np.exp(-x ** 2 / 2)
    expected = np.sqrt(1.0 ** 2 + (0.5 - 1.0) ** 2)
    assert langevin.w2_particles_to_grid(X, x, rho) == pytest.approx(expected, abs=0.02)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"tau": 0.0}, "tau must be a finite number > 0, got 0.0"),
    ({"n_steps": 0}, "n_steps must be >= 1, got 0"),
    ({"X0": [[np.nan]]}, "X0 must contain only finite numbers"),
    ({"X0": [1.0, 2.0]}, r"X0 must have shape \(n, d\)"),
    ({"grad_V": lambda X: X[:, 0]}, r"grad_V must return an array of shape \(3, 1\)"),
])
def test_langevin_bad_input(kwargs, match):
    args = {"grad_V": grad_V, "X0": [[0.0], [1.0], [2.0]], "tau": 0.1, "n_steps": 2,
            "rng": np.random.default_rng(0)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        langevin.langevin(**args)


def test_langevin_needs_a_generator():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        langevin.langevin(grad_V, [[0.0]], 0.1, 1, 0)


def test_langevin_blow_up_is_reported():
    with pytest.raises(ValueError, match="blew up .* lower tau"):
        langevin.langevin(grad_V, [[1.0]], 3.0, 2000, np.random.default_rng(0))


def test_score_flow_bad_width():
    with pytest.raises(ValueError, match="width must be a finite number > 0, got -1"):
        langevin.score_flow(grad_V, [[0.0]], 0.1, 1, width=-1)


@pytest.mark.parametrize("args, match", [
    ((V, rho0, 1, -1, 10, 0.1, 1), "x_min < x_max"),
    ((V, rho0, -1, 1, 2, 0.1, 1), "n_cells must be >= 3, got 2"),
    ((V, lambda x: -np.ones_like(x), -1, 1, 10, 0.1, 1),
     r"rho0 must return finite non-negative values of positive mass, got min -1.0 and sum -10.0"),
    ((V, rho0, -1, 1, 10, 0.1, 0), "n_steps must be >= 1, got 0"),
])
def test_grid_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        langevin.fokker_planck_1d(*args)


def test_grad_v_must_be_callable():
    with pytest.raises(TypeError, match="grad_V must be callable, got None"):
        langevin.langevin(None, [[0.0]], 0.1, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="grad_V must be callable, got None"):
        langevin.score_flow(None, [[0.0]], 0.1, 1, width=0.3)


def test_nan_gradient_is_reported_apart_from_blow_up():
    """A grad_V returning NaN at finite positions is the potential's fault, not the step size's."""
    nan_grad = lambda X: np.where(X > 0.5, np.nan, X)  # noqa: E731
    with pytest.raises(ValueError, match=r"grad_V returned NaN in 1 entries at step 1") as info:
        langevin.langevin(nan_grad, [[0.0], [1.0]], 0.1, 3, np.random.default_rng(0))
    assert "tau" not in str(info.value)
    with pytest.raises(ValueError, match=r"grad_V returned NaN in 1 entries at step 1"):
        langevin.score_flow(nan_grad, [[0.0], [1.0]], 0.1, 3, width=0.3)


@pytest.mark.parametrize("X, x, rho, match", [
    ([[0.0]], [0.0, 1.0], [1.0, -0.5], r"rho must be finite and >= 0, got values such as \[-0.5\]"),
    ([[0.0]], [0.0, 1.0], [1.0, np.nan], r"rho must be finite and >= 0, got values such as \[nan\]"),
    ([[0.0]], [0.0, 1.0], [0.0, 0.0], r"rho must have positive mass, got sum\(rho\) = 0.0"),
    ([[0.0]], [0.0, 1.0], [1.0, 1.0, 1.0], r"rho must have the shape of x, \(2,\), got shape \(3,\)"),
    ([[0.0]], [[0.0, 1.0]], [1.0, 1.0], r"x must be a non-empty finite 1D array"),
    ([[0.0, 1.0]], [0.0, 1.0], [1.0, 1.0], r"X must have 1 columns, got shape \(1, 2\)"),
])
def test_w2_particles_to_grid_bad_input(X, x, rho, match):
    with pytest.raises(ValueError, match=match):
        langevin.w2_particles_to_grid(X, x, rho)


def test_free_energy_rejects_negative_density():
    x = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match=r"rho must be finite and >= 0, got values such as \[-0.1\]"):
        langevin.free_energy_1d(x, [0.5, 0.5, -0.1, 0.5, 0.5], V)
    with pytest.raises(ValueError, match=r"rho must have shape \(N,\) or \(m, N\) with N = 5"):
        langevin.free_energy_1d(x, [0.5, 0.5], V)
