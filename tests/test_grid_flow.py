"""Checks of lecture_code.grid_flow: invariants (mass, positivity, energy
decrease, discrete energy-dissipation identity), convergence against the heat
kernel and against the exact transport of a potential flow, agreement of the
grid helpers with symbolic first variations, and the error paths."""

import numpy as np
import pytest
import sympy as sp

from lecture_code import first_variation as fv
from lecture_code import grid_flow as gf
from lecture_code.particles import GaussianKernel

T0, T = 0.05, 0.1  # heat kernel started at time T0, run for a time T


def l1(grid, a, b):
    return float(np.abs(a - b).sum() * grid.cell_volume)


def slope(h, err):
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])


@pytest.fixture(scope="module")
def grid():
    return gf.Grid(-3.0, 3.0, 90)


@pytest.fixture(scope="module")
def bumps(grid):
    """Two separated bumps of mass 1 (a density far from any steady state)."""
    return grid.density(lambda x: np.exp(-(x - 1) ** 2 / 0.1) + 0.5 * np.exp(-(x + 1.2) ** 2 / 0.05))


@pytest.fixture(scope="module")
def energies(grid):
    """One energy of each kind, and a sum."""
    return {
        "potential": gf.potential_energy(grid, lambda x: x ** 4 / 4 - x ** 2 / 2),
        "interaction": gf.interaction_energy(grid, GaussianKernel(0.5, sign=-1).value),
        "entropy": gf.entropy(grid),
        "relative entropy": gf.relative_entropy(grid, lambda x: np.exp(-x ** 2 / 2)),
        "sum": gf.potential_energy(grid, lambda x: x ** 2) + 0.2 * gf.entropy(grid),
    }


KINDS = ["potential", "interaction", "entropy", "relative entropy", "sum"]


@pytest.fixture(scope="module")
def flows(grid, bumps, energies):
    tau = 0.2 * grid.h[0] ** 2  # stable for the diffusions with coefficient <= 1
    return {k: gf.solve_flow(grid, bumps, energies[k], 0.5, tau, n_frames=40) for k in KINDS}


# ---------------------------------------------------------------- invariants
@pytest.mark.parametrize("kind", KINDS)
def test_mass_conserved_to_rounding(flows, kind):
    mass = flows[kind].mass
    assert np.abs(mass - 1.0).max() < 1e-13


@pytest.mark.parametrize("kind", KINDS)
def test_density_stays_non_negative(flows, kind):
    assert flows[kind].rho.min() >= 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_energy_decreases(flows, kind):
    assert np.all(np.diff(flows[kind].energy) <= 1e-12)
    assert flows[kind].energy[-1] < flows[kind].energy[0] - 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_energy_dissipation_identity(grid, bumps, energies, kind):
    # over one step, f(rho_1) - f(rho_0) = -tau * D(rho_0) + O(tau^2): halving tau halves the defect
    defects = []
    for tau in [1e-4, 5e-5]:
        flow = gf.solve_flow(grid, bumps, energies[kind], tau, tau, n_frames=2)
        defects.append(abs((flow.energy[1] - flow.energy[0]) / tau + flow.dissipation[0]))
    assert flow.dissipation[0] > 0
    assert defects[1] < 0.6 * defects[0] or defects[1] < 1e-9 * flow.dissipation[0]


def test_positivity_kept_when_tau_is_too_large(grid, bumps, energies):
    # a potential flow with a step far above the CFL bound: the steps are split
    flow = gf.solve_flow(grid, bumps, energies["potential"], 0.5, 0.25, n_frames=3)
    assert flow.n_substeps > 0 and flow.rho.min() >= 0.0
    assert abs(flow.mass[-1] - 1.0) < 1e-13


def test_two_dimensional_heat_flow_converges():
    errs, hs = [], []
    for n in [16, 32]:
        grid2 = gf.Grid([-2.0, -2.0], [2.0, 2.0], [n, n])
        rho0 = gf.heat_kernel(grid2, T0, x0=[0.3, -0.2])
        flow = gf.solve_flow(grid2, rho0, gf.entropy(grid2), T, 0.2 * grid2.h[0] ** 2, n_frames=2)
        assert abs(flow.mass[-1] - flow.mass[0]) < 1e-13 and flow.rho.min() >= 0
        errs.append(l1(grid2, flow.rho[-1], gf.heat_kernel(grid2, T0 + T, x0=[0.3, -0.2])))
        hs.append(grid2.h[0])
    assert 0.8 < slope(hs, errs) < 1.5, errs


# ---------------------------------------------------------------- convergence
def test_heat_kernel_convergence_in_space():
    # tau = h^2 / 4, so the time error O(tau) is below the space error O(h)
    hs, errs = [], []
    for n in [40, 80, 160]:
        g = gf.Grid(-2.0, 2.0, n)
        flow = gf.solve_flow(g, gf.heat_kernel(g, T0), gf.entropy(g), T, g.h[0] ** 2 / 4, n_frames=2)
        hs.append(g.h[0])
        errs.append(l1(g, flow.rho[-1], gf.heat_kernel(g, T0 + T)))
    order = slope(hs, errs)
    assert 0.85 < order < 1.3, (order, errs)


@pytest.mark.parametrize("method, expected", [("euler", 1.0), ("heun", 2.0)])
def test_convergence_in_time(method, expected):
    # at a fixed grid the space error dominates the distance to the heat kernel,
    # so the time order is measured on successive differences (Richardson)
    g = gf.Grid(-2.0, 2.0, 50)
    rho0 = gf.heat_kernel(g, T0)
    sols = [gf.solve_flow(g, rho0, gf.entropy(g), T, g.h[0] ** 2 / 4 / 2 ** j,
                          n_frames=2, method=method).rho[-1] for j in range(4)]
    diffs = [l1(g, sols[j], sols[j + 1]) for j in range(3)]
    order = slope([1, 0.5, 0.25], diffs)
    assert abs(order - expected) < 0.2, (order, diffs)
    # and the solution approaches the heat kernel as tau decreases
    errs = [l1(g, s, gf.heat_kernel(g, T0 + T)) for s in sols]
    assert errs[-1] <= errs[0] + 1e-6


def test_potential_flow_converges_to_exact_transport():
    # V = x^2/2: rho_t(x) = e^t rho_0(e^t x); joint refinement tau = h / 4
    hs, errs = [], []
    for n in [50, 100, 200]:
        g = gf.Grid(-3.0, 3.0, n)
        rho0 = g.density(lambda x: np.exp(-(x - 0.5) ** 2 / 0.5))
        flow = gf.solve_flow(g, rho0, gf.potential_energy(g, lambda x: x ** 2 / 2), 0.5, g.h[0] / 4, n_frames=2)
        x = g.centres[0]
        exact = np.exp(0.5) * np.exp(-(np.exp(0.5) * x - 0.5) ** 2 / 0.5) / np.sqrt(0.5 * np.pi)
        hs.append(g.h[0])
        errs.append(l1(g, flow.rho[-1], exact))
    assert 0.8 < slope(hs, errs) < 1.3, errs


# ---------------------------------------------------------------- helpers
def test_interaction_helper_matches_symbolic_nonsymmetric(grid, bumps):
    # k(x, y) = exp(-(x - y)^2) (1 + x/3): the helper's (k + k^T) quadrature
    # and the symbolic first variation turned into a grid callable agree
    energy = gf.interaction_energy(grid, lambda X, Y: (np.exp(-((X - Y) ** 2).sum(-1)) * (1 + X[..., 0] / 3)))
    k = sp.exp(-(fv.x - fv.y) ** 2) * (1 + fv.x / 3)
    symbolic = gf.symbolic_variation(fv.first_variation(fv.interaction(k)), grid)
    assert np.allclose(energy.variation(bumps), symbolic(bumps), atol=1e-12)


def test_solver_accepts_a_symbolic_first_variation(grid, bumps, energies):
    s = sp.Symbol("s", positive=True)
    symbolic = fv.first_variation(fv.internal(s * sp.log(s), s))
    a = gf.solve_flow(grid, bumps, symbolic, 0.01, 0.2 * grid.h[0] ** 2, n_frames=2)
    b = gf.solve_flow(grid, bumps, energies["entropy"], 0.01, 0.2 * grid.h[0] ** 2, n_frames=2)
    assert np.allclose(a.rho, b.rho, rtol=0, atol=1e-12) and a.energy is None


def test_symbolic_local_variation_on_grid(grid, bumps):
    s = sp.Symbol("s", positive=True)
    energy = fv.potential(fv.x ** 2) + fv.internal(s * sp.log(s), s)
    symbolic = gf.symbolic_variation(fv.first_variation(energy), grid)
    x = grid.centres[0]
    assert np.allclose(symbolic(bumps), x ** 2 + np.log(np.maximum(bumps, 1e-300)) + 1)


def test_symbolic_derivative_terms_on_grid():
    # Dirichlet energy: delta f = -2 rho''; on rho = cos(x) it is 2 cos(x)
    g = gf.Grid(-1.0, 1.0, 400)
    variation = gf.symbolic_variation(fv.first_variation(fv.local(fv.rho(fv.x).diff(fv.x) ** 2)), g)
    x = g.centres[0]
    # repeated central differences: second order inside, less accurate in the edge cells
    assert np.allclose(variation(np.cos(x) + 2)[4:-4], 2 * np.cos(x[4:-4]), atol=1e-4)


def test_fokker_planck_relaxes_to_its_steady_state(grid, bumps):
    # the flow of KL(. | nu) converges to nu (normalised on the grid), at rate about e^{-t}
    kl = gf.relative_entropy(grid, lambda x: np.exp(-x ** 2 / 2))
    nu = grid.density(lambda x: np.exp(-x ** 2 / 2))
    flow = gf.solve_flow(grid, bumps, kl, 4.0, 0.4 * grid.h[0] ** 2, n_frames=3)
    assert l1(grid, flow.rho[-1], nu) < 0.05 * l1(grid, bumps, nu)
    assert np.all(np.diff(flow.energy) < 0)


def test_uniform_density_is_steady_for_heat_equation():
    g = gf.Grid(0.0, 1.0, 8)
    flow = gf.solve_flow(g, np.ones(8), gf.entropy(g), 0.01, 0.001)
    assert np.abs(flow.rho[-1] - 1).max() == 0.0


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, kind, words", [
    (dict(lower=0.0, upper=1.0, n=1), ValueError, r"n\[0\] must be >= 2, got 1"),
    (dict(lower=1.0, upper=0.0, n=5), ValueError, "lower < upper"),
    (dict(lower=[0.0, 0.0], upper=[1.0, 1.0], n=4), ValueError, "one entry per axis"),
    (dict(lower=0.0, upper=1.0, n=2.5), TypeError, "must be an integer"),
])
def test_bad_grid(kwargs, kind, words):
    with pytest.raises(kind, match=words):
        gf.Grid(**kwargs)


def test_negative_density_rejected(grid, energies):
    rho0 = np.ones(grid.shape)
    rho0[7] = -0.5
    with pytest.raises(ValueError, match=r"rho0 must be a density \(>= 0 everywhere\), got -0.5 at index \(7,\)"):
        gf.solve_flow(grid, rho0, energies["entropy"], 0.1, 0.01)


@pytest.mark.parametrize("rho0, kind, words", [
    (np.ones(5), ValueError, "must have the grid's shape"),
    (np.zeros(90), ValueError, "positive mass"),
    ("abc", TypeError, "rho0 must be an array"),
])
def test_bad_density(grid, energies, rho0, kind, words):
    with pytest.raises(kind, match=words):
        gf.solve_flow(grid, rho0, energies["entropy"], 0.1, 0.01)


@pytest.mark.parametrize("variation, kind, words", [
    (lambda r: np.zeros(3), ValueError, "first_variation must return an array of shape"),
    (lambda r: np.log(r - r), ValueError, "non-finite"),
    ("x**2", TypeError, "first_variation must be callable"),
])
def test_bad_first_variation(grid, bumps, variation, kind, words):
    with np.errstate(divide="ignore"):
        with pytest.raises(kind, match=words):
            gf.solve_flow(grid, bumps, variation, 0.1, 0.01)


@pytest.mark.parametrize("option, words", [
    (dict(method="rk4"), "method must be 'euler' or 'heun'"),
    (dict(cfl=1.5), r"cfl must lie in \(0, 1\]"),
    (dict(n_frames=1), "n_frames must be >= 2"),
    (dict(tau=-1.0), "tau must be a finite number > 0"),
])
def test_bad_options(grid, bumps, energies, option, words):
    args = dict(t_final=0.1, tau=0.01) | option
    with pytest.raises(ValueError, match=words):
        gf.solve_flow(grid, bumps, energies["entropy"], **args)


def test_unbounded_velocity_gives_up_with_a_clear_error(grid, bumps):
    with pytest.raises(ValueError, match="positivity condition still fails"):
        gf.solve_flow(grid, bumps, lambda r: 1e12 * grid.centres[0] ** 2, 0.1, 0.01, max_halvings=3)


def test_symbolic_variation_dimension_mismatch(grid):
    s = sp.Symbol("s", positive=True)
    with pytest.raises(ValueError, match="dimension 2 but grid has dimension 1"):
        gf.symbolic_variation(fv.first_variation(fv.internal(s ** 2, s, dim=2)), grid)
    with pytest.raises(TypeError, match="fv must be a FirstVariation"):
        gf.symbolic_variation("log(rho)", grid)


def test_docstring_examples():
    import doctest

    assert doctest.testmod(gf).failed == 0
