"""Numerical checks of lecture_code.exercise_flows (exercises 1 and 2 of book/exercises.md).

References used: Jensen's inequality, finite-difference gradients of the
discrete energies, closed forms (Ornstein-Uhlenbeck marginals, the cosine
modes of the Neumann Laplacian, the linearised decay rates 2k^2 and 2k^4),
an independent ODE solver (scipy's solve_ivp) and an independent transport
solver (POT's ot.emd2), and the invariants of the flows.
"""

import numpy as np
import ot
import pytest
from scipy.integrate import solve_ivp

from lecture_code import exercise_flows as EF
from lecture_code import grid_flow as GF

V = lambda x: (x ** 2 - 1) ** 2          # noqa: E731  the double well of the chapter
GRAD_V = lambda x: 4 * x * (x ** 2 - 1)  # noqa: E731


@pytest.fixture(scope="module")
def well():
    grid = GF.Grid(-2.5, 2.5, 100)
    nu = grid.density(lambda x: np.exp(-V(x)))
    rho0 = grid.density(lambda x: np.exp(-V(x)) * (1.05 + np.tanh(3 * x)))
    return grid, nu, rho0


@pytest.fixture(scope="module")
def divergence_flows(well):
    grid, nu, rho0 = well
    return {"KL": GF.solve_flow(grid, rho0, GF.relative_entropy(grid, nu), 3.0, 5e-4,
                                n_frames=61),
            "chi2": GF.solve_flow(grid, rho0, EF.chi_squared(grid, nu), 3.0, 2.5e-4,
                                  n_frames=61)}


# --------------------------------------------------------------------------
# exercise 1
# --------------------------------------------------------------------------
CONVEX = {
    "KL": (lambda s: EF._slogs(s), lambda s: np.log(s) + 1),
    "chi2": (lambda s: (s - 1) ** 2, lambda s: 2 * (s - 1)),
    "reverse KL": (lambda s: -np.log(s), lambda s: -1 / s),
    "Hellinger": (lambda s: (np.sqrt(s) - 1) ** 2, lambda s: 1 - 1 / np.sqrt(s)),
}


@pytest.mark.parametrize("name", sorted(CONVEX))
def test_divergences_are_nonnegative_and_vanish_at_the_reference(name, rng, well):
    """Part 1 (Jensen): D >= 0 for random densities, D(nu|nu) = 0."""
    grid, nu, _ = well
    D = EF.phi_divergence(grid, nu, *CONVEX[name])
    assert D.value(nu) == pytest.approx(0.0, abs=1e-12)
    for _ in range(20):
        rho = rng.uniform(0.01, 1.0, grid.shape) * nu * rng.uniform(0.5, 5.0)
        rho /= grid.integrate(rho)
        assert grid.integrate(rho / nu * nu) == pytest.approx(1.0, rel=1e-12)   # E_nu[rho] = 1
        assert D.value(rho) >= 0


@pytest.mark.parametrize("name", sorted(CONVEX))
def test_divergence_variation_is_the_gradient_of_its_value(name, rng, well):
    """Part 2a: <delta D, eta> = d/deps D(rho + eps eta), central differences (error O(eps^2))."""
    grid, nu, rho0 = well
    D = EF.phi_divergence(grid, nu, *CONVEX[name])
    eta = rng.normal(size=grid.shape) * rho0
    eps = 1e-6
    numeric = (D.value(rho0 + eps * eta) - D.value(rho0 - eps * eta)) / (2 * eps)
    assert grid.integrate(D.variation(rho0) * eta) == pytest.approx(numeric, rel=1e-6)


def test_kl_divergence_is_the_relative_entropy(well):
    grid, nu, rho0 = well
    assert EF.kl_divergence(grid, nu).value(rho0) == pytest.approx(
        GF.relative_entropy(grid, nu).value(rho0), rel=1e-12)
    assert EF.chi_squared(grid, nu).value(rho0) == pytest.approx(
        grid.integrate(rho0 ** 2 / nu) - 1, rel=1e-10)


@pytest.mark.parametrize("name", ["KL", "chi2"])
def test_divergence_flows_decrease_keep_mass_and_positivity(name, divergence_flows):
    flow = divergence_flows[name]
    assert (np.diff(flow.energy) < 0).all()
    assert flow.energy[-1] < 0.01 * flow.energy[0]
    np.testing.assert_allclose(flow.mass, 1.0, rtol=1e-12)
    assert (flow.rho > 0).all()


def test_langevin_particles_follow_the_kl_flow(well, divergence_flows):
    """W1 between 10,000 Langevin particles and the grid density stays below 0.04.

    The budget: Monte Carlo (about 0.01), the upwind grid (h = 0.05, first
    order) and the Euler-Maruyama bias (tau = 1e-3).
    """
    grid, _, rho0 = well
    flow = divergence_flows["KL"]
    rng = np.random.default_rng(3)
    X0 = EF.sample_density(grid, rho0, 10_000, rng)
    times, X = EF.langevin(X0, GRAD_V, 1e-3, 1000, rng, store_every=50)
    np.testing.assert_allclose(times, flow.times[:len(times)], atol=1e-12)
    w1 = [EF.grid_wasserstein(grid, flow.rho[k], X[k]) for k in range(len(times))]
    assert max(w1) < 0.04
    x = grid.centres[0]
    assert X[-1].mean() == pytest.approx(grid.integrate(x * flow.rho[len(times) - 1]), abs=0.03)


@pytest.mark.parametrize("name,factor,rtol", [("KL", 2, 0.03), ("chi2", 4, 0.01)])
def test_divergences_decay_at_the_rate_set_by_the_spectral_gap(name, factor, rtol,
                                                                 divergence_flows):
    """Late slopes of log D: 2 lambda (KL, up to its cubic term) and 4 lambda (chi^2)."""
    lam = EF.spectral_gap(GRAD_V, lambda x: 12 * x ** 2 - 4, -2.5, 2.5)
    flow = divergence_flows[name]
    late = flow.times >= 1.5
    rate = -np.polyfit(flow.times[late], np.log(flow.energy[late]), 1)[0]
    assert rate == pytest.approx(factor * lam, rel=rtol)


@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
def test_spectral_gap_of_ornstein_uhlenbeck_and_its_second_order(beta):
    """V = beta x^2 / 2 has gap beta; the error falls like n^-2."""
    ns = np.array([100, 200, 400])
    errors = [abs(EF.spectral_gap(lambda x: beta * x, lambda x: np.full_like(x, beta),
                                  -10.0, 10.0, int(n)) - beta) for n in ns]
    assert errors[-1] < 1e-3 * beta
    slope = np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert -2.2 < slope < -1.8


def test_langevin_matches_the_ornstein_uhlenbeck_marginals():
    """V = x^2/2 from N(2, 0.1^2): mean 2 e^{-t}, variance 1 - 0.99 e^{-2t}; tolerance 5 sigma + O(tau)."""
    rng = np.random.default_rng(5)
    n, tau, steps = 20_000, 1e-3, 500
    X0 = 2 + 0.1 * rng.standard_normal(n)
    times, X = EF.langevin(X0, lambda x: x, tau, steps, rng, store_every=steps)
    t = times[-1]
    mean, var = 2 * np.exp(-t), 1 - 0.99 * np.exp(-2 * t)
    assert X[-1].mean() == pytest.approx(mean, abs=5 * np.sqrt(var / n) + 2 * tau)
    assert X[-1].var() == pytest.approx(var, abs=5 * var * np.sqrt(2 / n) + 2 * tau)


def test_sample_density_and_grid_wasserstein_against_pot(rng, well):
    grid, nu, _ = well
    X = EF.sample_density(grid, nu, 4000, rng)
    x = grid.centres[0]
    m = grid.integrate(x * nu)
    sd = np.sqrt(grid.integrate((x - m) ** 2 * nu))
    assert X.mean() == pytest.approx(m, abs=5 * sd / np.sqrt(len(X)))
    # W2 against an exact transport plan computed by POT's network simplex
    Y = X[:500]
    w = nu / nu.sum()
    cost = ot.emd2(np.full(len(Y), 1 / len(Y)), w, ot.dist(Y[:, None], x[:, None]))
    assert EF.grid_wasserstein(grid, nu, Y, p=2) == pytest.approx(np.sqrt(cost), rel=1e-7)


# --------------------------------------------------------------------------
# exercise 2
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interval():
    grid = GF.Grid(0.0, np.pi, 32)
    y = grid.centres[0]
    return grid, 1 + 0.5 * np.cos(y) + 0.3 * np.cos(4 * y)


@pytest.mark.parametrize("make", [EF.dirichlet_energy, EF.fisher_information])
def test_discrete_variation_is_the_gradient_of_the_discrete_energy(make, rng, interval):
    grid, start = interval
    energy = make(grid)
    eta = rng.normal(size=grid.shape)
    eps = 1e-6
    numeric = (energy.value(start + eps * eta) - energy.value(start - eps * eta)) / (2 * eps)
    assert grid.integrate(energy.variation(start) * eta) == pytest.approx(numeric, rel=1e-6)


def test_discrete_energies_and_variations_converge_at_second_order():
    """rho = 2 + cos x on [0, pi]: E = pi/2, I = pi (2 - sqrt 3), delta E = 2 cos x, delta I = -4 u''/u."""
    exact_E, exact_I = np.pi / 2, np.pi * (2 - np.sqrt(3))
    ns = np.array([32, 64, 128, 256])
    errors = {"E": [], "I": [], "dE": [], "dI": []}
    for n in ns:
        grid = GF.Grid(0.0, np.pi, int(n))
        x = grid.centres[0]
        r = 2 + np.cos(x)
        u = np.sqrt(r)
        u2 = -np.cos(x) / (2 * u) - np.sin(x) ** 2 / (4 * u ** 3)            # (sqrt rho)''
        inner = slice(n // 4, 3 * n // 4)
        errors["E"].append(abs(EF.dirichlet_energy(grid).value(r) - exact_E))
        errors["I"].append(abs(EF.fisher_information(grid).value(r) - exact_I))
        errors["dE"].append(np.abs(EF.dirichlet_energy(grid).variation(r) - 2 * np.cos(x))[inner].max())
        errors["dI"].append(np.abs(EF.fisher_information(grid).variation(r) + 4 * u2 / u)[inner].max())
    for name, err in errors.items():
        slope = np.polyfit(np.log(ns), np.log(err), 1)[0]
        assert -2.2 < slope < -1.8, (name, slope)


@pytest.fixture(scope="module")
def four_flows(interval):
    grid, start = interval
    return {
        "L2 dirichlet": EF.l2_flow(grid, start, "dirichlet", 0.02, 2e-4, n_frames=21),
        "W2 dirichlet": GF.solve_flow(grid, start, EF.dirichlet_energy(grid), 0.02, 2e-6,
                                      n_frames=21),
        "L2 fisher": EF.l2_flow(grid, start, "fisher", 0.02, 2e-4, n_frames=21),
        "W2 fisher": GF.solve_flow(grid, start, EF.fisher_information(grid), 0.02, 2e-6,
                                   n_frames=21),
    }


@pytest.mark.parametrize("name", ["L2 dirichlet", "W2 dirichlet", "L2 fisher", "W2 fisher"])
def test_four_flows_decrease_stay_positive_and_keep_mass_where_they_should(name, four_flows):
    flow = four_flows[name]
    assert (np.diff(flow.energy) < 0).all()
    assert (flow.rho > 0).all()
    if name == "L2 fisher":
        # mass grows at the rate int |d_x log rho|^2 dx (the notes' "Fisher information")
        assert (np.diff(flow.mass) > 0).all()
        grid = flow.grid
        rates = []
        for r in flow.rho[:3]:
            log_r = np.log(r)
            rates.append(float(np.sum(np.diff(log_r) ** 2) / grid.h[0]))
        observed = (flow.mass[1] - flow.mass[0]) / (flow.times[1] - flow.times[0])
        assert observed == pytest.approx(rates[0], rel=0.1)
    else:
        np.testing.assert_allclose(flow.mass, flow.mass[0], rtol=1e-12)


@pytest.mark.parametrize("name,order", [("L2 dirichlet", 2), ("L2 fisher", 2),
                                        ("W2 dirichlet", 4), ("W2 fisher", 4)])
def test_small_cosine_modes_decay_at_the_linearised_rate(name, order):
    """rho = 1 + 0.01 cos(k x): the amplitude decays like exp(-2 k^order t); tolerance 3%."""
    grid = GF.Grid(0.0, np.pi, 32)
    x = grid.centres[0]
    k = 3
    start = 1 + 0.01 * np.cos(k * x)
    t = 0.5 / (2 * k ** order)
    kind = name.split()[1]
    if name.startswith("L2"):
        flow = EF.l2_flow(grid, start, kind, t, t / 400, n_frames=2)
    else:
        energy = EF.dirichlet_energy(grid) if kind == "dirichlet" else EF.fisher_information(grid)
        flow = GF.solve_flow(grid, start, energy, t, 2e-6, n_frames=2)
    mode = np.cos(k * x)
    amplitude = (flow.rho[-1] - flow.rho[-1].mean()) @ mode / (mode @ mode)
    assert amplitude / 0.01 == pytest.approx(np.exp(-2 * k ** order * t), rel=0.03)


def test_l2_dirichlet_against_the_discrete_cosine_solution_first_order_in_time():
    """Backward Euler for the exact Neumann mode: error ~ tau (slope in [0.9, 1.1])."""
    grid = GF.Grid(0.0, np.pi, 40)
    n, h = 40, grid.h[0]
    x = grid.centres[0]
    mode = np.cos(2 * (np.arange(n) + 0.5) * np.pi / n)       # cos(2x) at the centres
    lam = 4 / h ** 2 * np.sin(2 * np.pi / (2 * n)) ** 2       # its eigenvalue of -Delta_h
    start = 1 + 0.5 * mode
    np.testing.assert_allclose(mode, np.cos(2 * x), atol=1e-12)
    taus = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = []
    for tau in taus:
        flow = EF.l2_flow(grid, start, "dirichlet", 0.2, tau, n_frames=2)
        exact = 1 + 0.5 * np.exp(-2 * lam * 0.2) * mode
        errors.append(np.abs(flow.rho[-1] - exact).max())
    slope = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert 0.9 < slope < 1.1


def test_l2_fisher_against_solve_ivp_first_order_in_time(interval):
    """The linearly implicit step against scipy's Radau on the same space discretisation."""
    grid, start = interval
    h = grid.h[0]

    def rhs(_, u):
        return 2 * EF.neumann_laplacian(u, h) / u ** 2

    ref = solve_ivp(rhs, (0, 0.01), np.sqrt(start), method="Radau", rtol=1e-10, atol=1e-12)
    exact = ref.y[:, -1] ** 2
    taus = np.array([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    errors = [np.abs(EF.l2_flow(grid, start, "fisher", 0.01, tau, n_frames=2).rho[-1]
                     - exact).max() for tau in taus]
    slope = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert 0.85 < slope < 1.15


def test_l2_steps_stay_positive_with_huge_steps():
    grid = GF.Grid(0.0, 1.0, 20)
    start = np.where(np.arange(20) < 10, 1e-6, 2.0)
    for kind in ("dirichlet", "fisher"):
        flow = EF.l2_flow(grid, start, kind, 1.0, 0.5, n_frames=3)
        assert (flow.rho > 0).all()
        assert (np.diff(flow.energy) < 0).all()


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
def test_bad_input_is_reported(interval, well):
    grid, start = interval
    g1, nu, _ = well
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0, got -0.1"):
        EF.l2_flow(grid, start, "fisher", 1.0, -0.1)
    with pytest.raises(ValueError, match="t_final"):
        EF.l2_flow(grid, start, "fisher", 0.0, 0.1)
    with pytest.raises(ValueError, match="rho0 must be a density"):
        EF.l2_flow(grid, -start, "dirichlet", 1.0, 0.1)
    with pytest.raises(ValueError, match="rho0 must be > 0 on every cell"):
        EF.l2_flow(grid, np.where(np.arange(32) == 3, 0.0, start), "dirichlet", 1.0, 0.1)
    with pytest.raises(ValueError, match="shape"):
        EF.l2_flow(grid, start[:-1], "dirichlet", 1.0, 0.1)
    with pytest.raises(ValueError, match="functional must be one of"):
        EF.l2_flow(grid, start, "entropy", 1.0, 0.1)
    with pytest.raises(ValueError, match="1-dimensional"):
        EF.dirichlet_energy(GF.Grid([0, 0], [1, 1], [4, 4]))
    with pytest.raises(TypeError, match="grid must be"):
        EF.fisher_information("grid")
    with pytest.raises(ValueError, match="nu must be finite and > 0"):
        EF.chi_squared(g1, np.zeros(g1.shape))
    with pytest.raises(ValueError, match="nu must be"):
        EF.chi_squared(g1, np.ones(3))
    with pytest.raises(TypeError, match="phi_prime"):
        EF.phi_divergence(g1, nu, np.log, 3.0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0, got 0"):
        EF.langevin(np.zeros(3), GRAD_V, 0, 10, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        EF.langevin(np.zeros(3), GRAD_V, 0.1, 10, 42)
    with pytest.raises(ValueError, match="X0 must have shape"):
        EF.langevin(np.zeros((2, 2, 2)), GRAD_V, 0.1, 10, rng)
    with pytest.raises(ValueError, match="grad_V"):
        EF.langevin(np.zeros(3), lambda x: np.zeros(4), 0.1, 10, rng)
    with pytest.raises(ValueError, match="n must be >= 1"):
        EF.sample_density(g1, nu, 0, rng)
    with pytest.raises(ValueError, match="rho must be a density"):
        EF.sample_density(g1, -nu, 5, rng)
    with pytest.raises(ValueError, match="p must be >= 1"):
        EF.grid_wasserstein(g1, nu, np.zeros(3), p=0.5)
    with pytest.raises(ValueError, match="n must be >= 10"):
        EF.spectral_gap(GRAD_V, GRAD_V, -1.0, 1.0, 5)
    with pytest.raises(ValueError, match="lower < upper"):
        EF.spectral_gap(GRAD_V, GRAD_V, 1.0, -1.0)
    with pytest.raises(TypeError, match="laplacian_V"):
        EF.spectral_gap(GRAD_V, 2.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="X must be a non-empty"):
        EF.grid_wasserstein(g1, nu, np.zeros((3, 2)))


def test_sample_density_skips_empty_cells_and_follows_the_piecewise_linear_cdf(rng):
    """Kolmogorov-Smirnov test (scipy) against the exact cdf; samples never in empty cells."""
    from scipy.stats import kstest

    grid = GF.Grid(0.0, 1.0, 5)
    rho = np.array([0.0, 2.0, 0.0, 1.0, 2.0])
    X = EF.sample_density(grid, rho, 5000, rng)
    edges = np.linspace(0.0, 1.0, 6)
    cdf = np.concatenate([[0.0], np.cumsum(rho)]) / rho.sum()
    assert not ((X < 0.2) | ((X >= 0.4) & (X < 0.6))).any()
    assert kstest(X, lambda t: np.interp(t, edges, cdf)).pvalue > 1e-3


def test_chi_squared_moves_mass_across_the_barrier_faster(divergence_flows, well):
    """The chapter's remark: at t = 1 the left well holds more mass under the chi^2 flow."""
    grid = well[0]
    left = grid.centres[0] < 0
    k = int(np.argmin(np.abs(divergence_flows["KL"].times - 1.0)))
    masses = {name: grid.integrate(flow.rho[k] * left) for name, flow in divergence_flows.items()}
    assert masses["chi2"] > masses["KL"] + 0.05


@pytest.mark.parametrize("name", ["L2 dirichlet", "W2 dirichlet", "L2 fisher", "W2 fisher"])
def test_the_ripple_is_halved_by_second_order_flows_and_erased_by_fourth_order(name, four_flows):
    """The chapter's remark at t = 0.02: cos(4x) amplitude ratio near e^-0.64 (L2), below 0.05 (W2)."""
    flow = four_flows[name]
    y = flow.grid.centres[0]
    mode = np.cos(4 * y)
    ratio = (flow.rho[-1] @ mode) / (flow.rho[0] @ mode)
    if name.startswith("L2"):
        assert 0.4 < ratio < 0.7
    else:
        assert abs(ratio) < 0.05
