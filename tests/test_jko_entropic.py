"""Numerical checks of the entropic JKO solver on grids."""

import numpy as np
import ot
import pytest
from scipy.special import logsumexp

from lecture_code.jko import ou_jko_gaussian
from lecture_code.jko_1d import JKOProblem1D, gaussian_particles, jko_flow_1d, quadratic_potential_1d
from lecture_code.jko_entropic import (entropic_jko_flow, entropic_jko_step, gaussian_on_grid,
                                       gibbs_log_apply, grid_moments, make_grid)


@pytest.fixture(scope="module")
def line():
    """A 1D grid on [-6, 6] with the OU potential."""
    grid = make_grid(160, 6.0)
    return grid, grid.sq_norm() / 2


@pytest.mark.parametrize("eps", [1e-1, 1e-3, 1e-5])
def test_separable_log_kernel_matches_a_dense_log_sum_exp(eps):
    grid = make_grid((12, 12), 3.0)
    rng = np.random.default_rng(1)
    logv = rng.normal(scale=50.0, size=grid.shape)
    logv[0, :3] = -np.inf  # zero entries are allowed
    points = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    cost = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1) / 2
    dense = logsumexp(-cost / eps + logv.ravel()[None, :], axis=1).reshape(grid.shape)
    got = gibbs_log_apply(logv, grid, eps)
    assert np.all(np.isfinite(got))
    assert np.allclose(got, dense, rtol=1e-12, atol=1e-9)


def test_step_conserves_mass_stays_positive_and_is_optimal(line):
    grid, V = line
    p = gaussian_on_grid(grid, 2.0, 0.3)
    tau, eps, beta = 0.2, 0.01, 1.0
    step = entropic_jko_step(p, grid, tau, eps, V=V, beta=beta, tol=1e-11)
    assert step.converged
    assert abs(step.q.sum() - 1) < 1e-12
    assert step.q.min() > 0
    # dual optimality: eps log b + tau (V + beta log(q / h)) is constant
    dual = eps * step.log_b + tau * (V + beta * np.log(step.q / grid.h))
    assert np.ptp(dual) < 1e-7


def test_plan_is_the_entropic_plan_computed_by_pot(line):
    grid, V = line
    p = gaussian_on_grid(grid, 1.0, 0.5)
    eps = 0.05
    step = entropic_jko_step(p, grid, 0.3, eps, V=V, tol=1e-12)
    x = grid.axes[0]
    log_a = np.log(p) - gibbs_log_apply(step.log_b, grid, eps)
    plan = np.exp(log_a[:, None] - (x[:, None] - x[None, :]) ** 2 / (2 * eps) + step.log_b[None, :])
    assert np.allclose(plan.sum(1), p, atol=1e-13)
    assert np.allclose(plan.sum(0), step.q, atol=1e-13)
    reference = ot.sinkhorn(p, step.q, ot.dist(x[:, None], x[:, None]) / 2, eps,
                            method="sinkhorn_log", stopThr=1e-13, numItermax=20000)
    assert np.abs(plan - reference).sum() < 1e-6


def test_grid_and_quantile_solvers_agree_with_the_closed_form(line):
    grid, V = line
    tau, eps, K, m0, s0 = 0.2, 2e-3, 5, 1.5, 0.4
    flow = entropic_jko_flow(gaussian_on_grid(grid, m0, s0), grid, tau, eps, K, V=V,
                             tol=1e-9, omega=1.8)
    m_grid, s_grid = grid_moments(flow[-1], grid)
    x = jko_flow_1d(gaussian_particles(3000, m0, s0), tau, K,
                    JKOProblem1D(potential=quadratic_potential_1d(), beta=1.0))[-1]
    m_exact, s_exact = (v[-1] for v in ou_jko_gaussian(m0, s0, tau, K))
    assert abs(m_grid[0] - m_exact) < 1e-3 and abs(x.mean() - m_exact) < 1e-12
    assert abs(x.var() - s_exact) < 1e-3
    # the grid solver is off by its entropic bias, about eps / (2 tau) of extra diffusion
    _, s_biased = (v[-1] for v in ou_jko_gaussian(m0, s0, tau, K, beta=1 + eps / (2 * tau)))
    assert abs(s_grid - s_biased) < 0.25 * abs(s_biased - s_exact)
    assert abs(s_grid - x.var()) < 0.01


def test_entropic_bias_grows_like_eps_over_two_tau(line):
    grid, V = line
    tau, K = 0.5, 3
    p0 = gaussian_on_grid(grid, 0.0, 1.0)  # the stationary state of the exact flow
    excess = []
    for eps in (0.01, 0.04):
        s = grid_moments(entropic_jko_flow(p0, grid, tau, eps, K, V=V, omega=1.8)[-1], grid)[1]
        _, s_pred = ou_jko_gaussian(0.0, 1.0, tau, K, beta=1 + eps / (2 * tau))
        excess.append(s - 1)
        assert abs(s - s_pred[-1]) < 0.2 * (s_pred[-1] - 1)
    assert 3.0 < excess[1] / excess[0] < 5.0


def test_2d_step_conserves_mass_positivity_and_contracts_the_mean():
    grid = make_grid((40, 40), 4.0)
    V = grid.sq_norm() / 2
    flow = entropic_jko_flow(gaussian_on_grid(grid, [1.0, -0.5], 0.3), grid, 0.25, 0.02, 3,
                             V=V, omega=1.8)
    for q in flow:
        assert abs(q.sum() - 1) < 1e-12 and q.min() > 0
    m, _ = grid_moments(flow[-1], grid)
    assert np.allclose(m, np.array([1.0, -0.5]) / 1.25 ** 3, atol=2e-3)
    energy = [(q * (V + np.log(q / grid.h ** 2))).sum() for q in flow]
    assert np.all(np.diff(energy) < 0)


def test_step_warns_and_keeps_the_log_when_stopped_early(line):
    grid, V = line
    with pytest.warns(RuntimeWarning, match="max_iter=3"):
        step = entropic_jko_step(gaussian_on_grid(grid, 2.0, 0.3), grid, 0.2, 1e-3, V=V,
                                 max_iter=3)
    assert not step.converged and len(step.history) == 3
    assert abs(step.q.sum() - 1) < 1e-12  # even an unfinished step conserves mass


@pytest.mark.parametrize("change, error, match", [
    ({"tau": 0.0}, ValueError, "tau must be a finite number > 0, got 0.0"),
    ({"eps": -1e-3}, ValueError, "eps must be a finite number > 0"),
    ({"p": "negative"}, ValueError, r"p must be a density \(>= 0 everywhere\)"),
    ({"p": "short"}, ValueError, r"p must have the grid's shape \(160,\), got shape \(159,\)"),
    ({"p": "unnormalised"}, ValueError, "sum to 1"),
    ({"V": np.zeros(10)}, ValueError, "V must have the grid's shape"),
    ({"omega": 2.0}, ValueError, "omega"),
    ({"grid": "grid"}, TypeError, "grid must be a Grid"),
])
def test_step_rejects_bad_input(line, change, error, match):
    grid, V = line
    p = gaussian_on_grid(grid, 0.0, 1.0)
    variants = {"negative": p - 1e-3 * (np.arange(p.size) == 0) + 1e-3 * (np.arange(p.size) == 1),
                "short": p[:-1], "unnormalised": 2 * p}
    args = {"p": p, "grid": grid, "tau": 0.1, "eps": 0.01, "V": V}
    args.update(change)
    if isinstance(args["p"], str):
        args["p"] = variants[args["p"]]
    with pytest.raises(error, match=match):
        entropic_jko_step(**args)


def test_grids_with_unequal_spacing_are_rejected():
    from lecture_code.jko_entropic import Grid

    with pytest.raises(ValueError, match="spacing"):
        Grid((np.linspace(0, 1, 5), np.linspace(0, 2, 5)))
    with pytest.raises(ValueError, match="evenly spaced"):
        Grid((np.array([0.0, 1.0, 3.0]),))


def test_interaction_operator_matches_a_direct_sum():
    from lecture_code.jko_entropic import interaction_operator

    grid = make_grid((7, 7), 2.0)
    q = np.random.default_rng(3).random(grid.shape)
    points = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    diff = points[:, None, :] - points[None, :, :]
    W = lambda z1, z2: np.exp(-(z1 ** 2 + 2 * z2 ** 2)) + z1 * z1  # noqa: E731
    direct = (W(diff[..., 0], diff[..., 1]) * q.ravel()[None, :]).sum(1).reshape(grid.shape)
    assert np.allclose(interaction_operator(W, grid)(q), direct, atol=1e-12)


def test_step_with_interaction_is_optimal_and_agrees_with_the_quantile_solver(line):
    from lecture_code.jko_1d import QuadraticInteraction
    from lecture_code.jko_entropic import interaction_operator

    grid, V = line
    gamma, tau, eps = 1.0, 0.2, 2e-3

    def W(z):
        return gamma * z * z / 2

    p = gaussian_on_grid(grid, 1.5, 0.4)
    step = entropic_jko_step(p, grid, tau, eps, V=V, W=W, omega=1.8, tol=1e-10)
    assert abs(step.q.sum() - 1) < 1e-12 and step.q.min() > 0
    # optimality with the interaction evaluated at the result itself (fully implicit)
    dual = eps * step.log_b + tau * (V + 2 * interaction_operator(W, grid)(step.q)
                                     + np.log(step.q / grid.h))
    assert np.ptp(dual) < 1e-7
    x = jko_flow_1d(gaussian_particles(3000, 1.5, 0.4), tau, 1,
                    JKOProblem1D(potential=quadratic_potential_1d(), beta=1.0,
                                 interaction=QuadraticInteraction(gamma)))[-1]
    m, s = grid_moments(step.q, grid)
    assert abs(m[0] - x.mean()) < 1e-4
    assert abs(s - x.var()) < 2e-3


# ------------------------------------------------- review fixes (fast path, flow logs, input)
def _spy_paths(monkeypatch):
    """Count the exact and the shifted-matrix-product branches of the axis pass."""
    import lecture_code.jko_entropic as je
    calls = {"exact": 0, "fast": 0}
    original = je._apply_axis

    def spy(logv, logK, coords, axis):
        rows = np.moveaxis(logv, axis, -1).reshape(-1, logv.shape[axis])
        small = rows.shape[0] < 8 or rows.size * rows.shape[-1] <= je._SMALL
        calls["exact" if small else "fast"] += 1
        return original(logv, logK, coords, axis)

    monkeypatch.setattr(je, "_apply_axis", spy)
    return calls


@pytest.mark.parametrize("eps", [1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_fast_log_domain_path_matches_a_dense_log_sum_exp(monkeypatch, eps, scale):
    # 48 x 48 = 2304 rows of 48 entries: 110592 > _SMALL, so both axis passes take the
    # shifted matrix-product branch (checked by the spy), not the exact one.
    calls = _spy_paths(monkeypatch)
    grid = make_grid((48, 48), 3.0)
    logv = np.random.default_rng(1).normal(scale=scale, size=grid.shape)
    logv[0, :3] = -np.inf
    points = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    cost = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1) / 2
    dense = logsumexp(-cost / eps + logv.ravel()[None, :], axis=1).reshape(grid.shape)
    got = gibbs_log_apply(logv, grid, eps)
    assert calls == {"exact": 0, "fast": 2}
    assert np.all(np.isfinite(got))
    assert np.abs(got - dense).max() < 1e-12  # measured: 5.7e-14 at most


def test_the_small_test_grid_takes_the_exact_branch(monkeypatch):
    calls = _spy_paths(monkeypatch)
    gibbs_log_apply(np.zeros((12, 12)), make_grid((12, 12), 3.0), 1e-3)
    assert calls == {"exact": 2, "fast": 0}


def test_flow_warning_points_at_the_caller_names_the_step_and_returns_the_logs(line):
    grid, V = line
    with pytest.warns(RuntimeWarning, match=r"entropic_jko_flow, step k=\d .*max_iter=3") as rec:
        flow, steps = entropic_jko_flow(gaussian_on_grid(grid, 1.0, 0.3), grid, 0.2, 1e-3, 2,
                                        V=V, max_iter=3, return_steps=True)
    assert len(rec) == 2 and all(r.filename == __file__ for r in rec)
    assert ["step k=0 " in str(rec[0].message), "step k=1 " in str(rec[1].message)] == [True, True]
    assert len(flow) == 3 and len(steps) == 2
    assert [len(s.history) for s in steps] == [3, 3] and not any(s.converged for s in steps)
    assert all(np.array_equal(s.q, q) for s, q in zip(steps, flow[1:]))


@pytest.mark.parametrize("call, error, match", [
    (lambda g: gibbs_log_apply(np.zeros(4), "g", 0.1), TypeError, "grid must be a Grid"),
    (lambda g: entropic_jko_flow(np.ones(4) / 4, "g", 0.1, 0.01, 1), TypeError, "grid must be a Grid"),
    (lambda g: gibbs_log_apply(np.full(g.shape, np.nan), g, 0.1), ValueError, "logv must hold"),
    (lambda g: gaussian_on_grid(g, [1.0, 2.0, 3.0], 1.0), ValueError, "mean must be .* length grid.d = 1"),
    (lambda g: gaussian_on_grid(g, np.nan, 1.0), ValueError, "mean must be finite"),
    (lambda g: gaussian_on_grid(g, "a", 1.0), TypeError, "mean must be a number"),
    (lambda g: grid_moments(-gaussian_on_grid(g, 0.0, 1.0), g), ValueError, r"p must be a density"),
    (lambda g: grid_moments(np.ones(3) / 3, g), ValueError, "p must have the grid's shape"),
    (lambda g: make_grid(10.0, 1.0), TypeError, "shape must be an int or a tuple"),
    (lambda g: make_grid((10, 2.5), 1.0), TypeError, "shape must be an integer"),
])
def test_grid_helpers_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(make_grid(4, 1.0))


def test_grid_rejects_non_numeric_or_non_finite_axes():
    from lecture_code.jko_entropic import Grid
    with pytest.raises(TypeError, match=r"axes\[0\] must be a 1D array of numbers"):
        Grid(("abc",))
    with pytest.raises(ValueError, match=r"axes\[0\] must contain only finite"):
        Grid((np.array([0.0, np.nan, 2.0]),))
