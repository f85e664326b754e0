"""Numerical checks of the Euler steps and of the exact 1D JKO solver."""

import numpy as np
import ot
import pytest
from scipy.optimize import minimize

from lecture_code.jko import (backward_euler, backward_euler_step, forward_euler,
                              ou_gaussian, ou_jko_gaussian)
from lecture_code.jko_1d import (AbsInteraction, JKOProblem1D, PairInteraction, Potential1D,
                                 QuadraticInteraction, double_well_1d, gaussian_particles,
                                 jko_flow_1d, jko_step_1d, quadratic_potential_1d,
                                 w2_squared_1d)


# ----------------------------------------------------------------- Euler
def quartic_grad(x):
    return x ** 3 + np.array([1.0, 20.0]) * x


def quartic_hess(x):
    return np.diag(3 * x ** 2 + np.array([1.0, 20.0]))


def test_backward_euler_step_solves_its_optimality_condition():
    x = np.array([1.5, -2.0])
    step = backward_euler_step(quartic_grad, quartic_hess, x, 0.7)
    assert step.converged
    # y + tau grad g(y) = x, checked here independently of Newton's log
    assert np.abs(step.x + 0.7 * quartic_grad(step.x) - x).max() < 1e-12
    # and y minimises the proximal objective (compare with SciPy)
    def prox(z):
        return ((z - x) ** 2).sum() / 1.4 + (z ** 4 / 4 + np.array([1.0, 20.0]) * z ** 2 / 2).sum()
    ref = minimize(prox, x, method="BFGS", options={"gtol": 1e-10}).x
    assert np.allclose(step.x, ref, atol=1e-6)


@pytest.mark.parametrize("lam", [4.0, 20.0])
def test_forward_euler_blows_up_beyond_two_over_lambda_backward_never(lam):
    def grad(x):
        return lam * x

    def hess(x):
        return np.array([[lam]])

    below, above = 0.9 * 2 / lam, 1.1 * 2 / lam
    assert abs(forward_euler(grad, [1.0], below, 200)[-1, 0]) < 1e-3
    assert abs(forward_euler(grad, [1.0], above, 200)[-1, 0]) > 1e3
    for tau in (below, above, 100 / lam):
        path = backward_euler(grad, hess, [1.0], tau, 50)[:, 0]
        assert np.allclose(path, (1 + tau * lam) ** -np.arange(51.0), rtol=1e-12)


def test_backward_euler_warns_and_keeps_the_log_when_newton_is_cut_short():
    with pytest.warns(RuntimeWarning, match="max_iter=1"):
        step = backward_euler_step(quartic_grad, quartic_hess, [3.0, 3.0], 1.0, max_iter=1)
    assert not step.converged and len(step.history) == 2


@pytest.mark.parametrize("bad", [0.0, -0.1, np.inf])
def test_euler_rejects_a_bad_step(bad):
    with pytest.raises(ValueError, match="tau"):
        forward_euler(quartic_grad, [1.0, 1.0], bad, 3)
    with pytest.raises(ValueError, match="tau"):
        backward_euler_step(quartic_grad, quartic_hess, [1.0, 1.0], bad)


# ----------------------------------------------------------------- 1D JKO
OU = JKOProblem1D(potential=quadratic_potential_1d(), beta=1.0)


def optimality_residual(x, y, tau, V_prime, W_prime, beta):
    """The first-order condition of the JKO step, written out independently."""
    n = x.size
    res = (x - y) / tau + V_prime(x)
    if W_prime is not None:
        res += 2 * W_prime(x[:, None] - x[None, :]).sum(1) / n
    inv = beta / np.diff(x)
    res[:-1] += inv
    res[1:] -= inv
    return res


CASES = {
    "potential+entropy": (OU, lambda x: x, None),
    "double well+entropy": (JKOProblem1D(potential=double_well_1d(), beta=0.5),
                            lambda x: x * (x * x - 1), None),
    "quadratic interaction": (JKOProblem1D(potential=quadratic_potential_1d(1.0), beta=1.0,
                                           interaction=QuadraticInteraction(2.0)),
                              lambda x: x - 1.0, lambda z: 2.0 * z),
    "abs interaction": (JKOProblem1D(beta=0.3, interaction=AbsInteraction(1.0)),
                        lambda x: 0 * x, lambda z: np.sign(z)),
    "pair interaction": (JKOProblem1D(potential=quadratic_potential_1d(), beta=1.0,
                                      interaction=PairInteraction(
                                          lambda z: -np.exp(-z * z), lambda z: 2 * z * np.exp(-z * z),
                                          lambda z: (2 - 4 * z * z) * np.exp(-z * z))),
                         lambda x: x, lambda z: 2 * z * np.exp(-z * z)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_jko_step_satisfies_first_order_optimality(name):
    problem, V_prime, W_prime = CASES[name]
    y = gaussian_particles(300, 1.0, 0.5)
    step = jko_step_1d(y, 0.2, problem)
    assert step.converged
    assert np.all(np.diff(step.x) > 0)
    res = optimality_residual(step.x, y, 0.2, V_prime, W_prime, problem.beta)
    scale = max(1.0, problem.beta / np.diff(step.x).min())
    assert np.abs(res).max() <= 1e-9 * scale


@pytest.mark.parametrize("name", ["potential+entropy", "quadratic interaction", "pair interaction"])
def test_jko_step_agrees_with_a_general_purpose_minimiser(name):
    problem = CASES[name][0]
    y = gaussian_particles(20, 0.5, 1.0)
    tau = 0.3

    def objective(x):
        return np.dot(x - y, x - y) / (2 * tau) + problem.scaled_energy(x)

    def gradient(x):
        return (x - y) / tau + problem.scaled_gradient(x)

    ref = minimize(objective, y, jac=gradient, method="BFGS", options={"gtol": 1e-11}).x
    assert np.allclose(jko_step_1d(y, tau, problem).x, ref, atol=1e-7)


def test_quadratic_interaction_fast_and_dense_paths_agree():
    y = gaussian_particles(200, 0.0, 2.0)
    fast = JKOProblem1D(beta=1.0, interaction=QuadraticInteraction(1.5))
    dense = JKOProblem1D(beta=1.0, interaction=PairInteraction(
        lambda z: 0.75 * z * z, lambda z: 1.5 * z, lambda z: 1.5 + 0 * z))
    a, b = jko_step_1d(y, 0.5, fast), jko_step_1d(y, 0.5, dense)
    assert np.allclose(a.x, b.x, atol=1e-10)
    assert max(a.cg_iter) <= 5  # the tridiagonal preconditioner leaves a rank-one part


def test_interaction_and_entropy_conserve_the_mean():
    # Pair forces are antisymmetric and entropic forces telescope: the mean is invariant.
    y = gaussian_particles(400, 0.7, 1.0)
    for interaction in (QuadraticInteraction(1.0), AbsInteraction(0.5)):
        x = jko_flow_1d(y, 0.2, 5, JKOProblem1D(beta=1.0, interaction=interaction))
        assert np.allclose(x.mean(axis=1), 0.7, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_free_energy_decreases_along_the_steps(name):
    problem = CASES[name][0]
    path = jko_flow_1d(gaussian_particles(200, 1.5, 0.2), 0.1, 8, problem)
    energies = [problem.free_energy(x) for x in path]
    assert np.all(np.diff(energies) < 0)


def test_ou_step_matches_the_exact_gaussian_jko_step():
    n = 4000
    y = gaussian_particles(n, 2.0, 0.3)
    x = jko_flow_1d(y, 0.25, 4, OU)
    m, s = ou_jko_gaussian(y.mean(), y.var(), 0.25, 4)
    # mean: exactly m / (1 + tau) each step; variance: the O(1/n) entropy discretisation
    assert np.allclose(x.mean(axis=1), m, atol=1e-12)
    assert np.abs(x.var(axis=1) - s).max() < 2 / n


def observed_order(taus, errors):
    return np.polyfit(np.log(taus), np.log(errors), 1)[0]


def test_jko_error_against_the_ornstein_uhlenbeck_flow_is_first_order():
    T, m0, s0, n = 1.0, 2.0, 0.25, 2000
    taus = np.array([0.2, 0.1, 0.05, 0.025])
    x0 = gaussian_particles(n, m0, s0)
    m_exact, s_exact = ou_gaussian(T, m0, s0)
    errors = []
    for tau in taus:
        x = jko_flow_1d(x0, tau, int(round(T / tau)), OU)[-1]
        errors.append(abs(x.mean() - m_exact) + abs(x.var() - s_exact))
    order = observed_order(taus, errors)
    assert 0.8 <= order <= 1.2, order
    # the exact Gaussian JKO recursion has the same order
    exact = [sum(abs(np.array([v[-1] for v in ou_jko_gaussian(m0, s0, tau, int(round(T / tau)))])
                     - np.array([m_exact, s_exact]))) for tau in taus]
    assert 0.8 <= observed_order(taus, exact) <= 1.2


def test_w2_formula_agrees_with_pot():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(2.0, 0.5, size=50)
    mine = w2_squared_1d(x, y)
    assert np.isclose(mine, ot.emd2(np.full(50, 0.02), np.full(50, 0.02), ot.dist(x[:, None], y[:, None])),
                      rtol=1e-10)
    assert np.isclose(mine, ot.wasserstein_1d(x, y, p=2), rtol=1e-10)


def test_jko_step_warns_and_keeps_the_log_when_newton_is_cut_short():
    y = gaussian_particles(100, 3.0, 0.1)
    with pytest.warns(RuntimeWarning, match="max_iter=1"):
        step = jko_step_1d(y, 1.0, OU, max_iter=1)
    assert not step.converged and len(step.history) == 2 and step.history[1] > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"tau": 0.0}, "tau must be a finite number > 0, got 0.0"),
    ({"tau": -1.0}, "tau"),
    ({"tol": 0.0}, "tol"),
    ({"y": [0.0, 0.0, 1.0]}, r"strictly increasing.*y\[0\]"),
    ({"y": [[0.0, 1.0]]}, "shape"),
    ({"y": [0.0, np.nan]}, "finite"),
])
def test_jko_step_rejects_bad_input(kwargs, match):
    args = {"y": [0.0, 1.0, 2.0], "tau": 0.1, "problem": OU}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        jko_step_1d(**args)


def test_bad_problem_and_sizes_are_rejected():
    with pytest.raises(ValueError, match="beta"):
        JKOProblem1D(beta=-1.0)
    with pytest.raises(TypeError, match="potential"):
        JKOProblem1D(potential=lambda x: x)
    with pytest.raises(TypeError, match="problem"):
        jko_step_1d([0.0, 1.0], 0.1, "OU")
    with pytest.raises(ValueError, match="same number"):
        w2_squared_1d([0.0, 1.0], [0.0, 1.0, 2.0])


def test_without_entropy_a_reordering_step_is_refused():
    # Without entropy nothing keeps particles apart: a strong |z| attraction makes the
    # unconstrained minimiser cross, and the sorted-position problem no longer is the step.
    problem = JKOProblem1D(beta=0.0, interaction=AbsInteraction(5.0))
    with pytest.raises(ValueError, match="reordered"):
        jko_step_1d([-0.1, 0.0, 0.1], 1.0, problem)


def test_exercise_forward_threshold_numbers():
    # the solution of the exercise on the forward threshold 2 / lambda_max = 0.04
    A = np.array([1.0, 50.0])
    below = np.linalg.norm(forward_euler(lambda x: A * x, [1.0, 1.0], 0.039, 500)[-1])
    above = np.linalg.norm(forward_euler(lambda x: A * x, [1.0, 1.0], 0.041, 500)[-1])
    assert np.isclose(below, 0.961 ** 500, rtol=1e-6) and below < 1e-8
    assert np.isclose(above, 1.05 ** 500, rtol=1e-6) and above > 1e10


# ------------------------------------------------- review fixes
def brute_force_prox(y, tau, V):
    """The global minimiser of (x - y)^2 / (2 tau) + V(x) on a fine grid, per particle."""
    grid = np.linspace(-3.0, 3.0, 600001)
    return np.array([grid[np.argmin((grid - yi) ** 2 / (2 * tau) + V(grid))] for yi in y])


def test_nonconvex_step_without_entropy_is_the_exact_prox():
    # tau = 2 > 1 / max(-V'') = 1: Newton's matrix 1/tau + V'' is negative near 0.
    dw = double_well_1d()
    y = np.array([-0.3, -0.1, 0.05, 0.2, 1.5])
    step = jko_step_1d(y, 2.0, JKOProblem1D(potential=dw, beta=0.0))
    assert step.converged
    assert np.allclose(step.x, brute_force_prox(y, 2.0, dw.V), atol=2e-5)


@pytest.mark.parametrize("tau", [2.0, 5.0])
def test_nonconvex_step_with_entropy_is_a_local_minimiser(tau):
    problem = JKOProblem1D(potential=double_well_1d(), beta=0.01)
    y = gaussian_particles(200, 0.0, 0.01)
    step = jko_step_1d(y, tau, problem)
    assert step.converged and np.all(np.diff(step.x) > 0)
    res = optimality_residual(step.x, y, tau, lambda x: x * (x * x - 1), None, 0.01)
    assert np.abs(res).max() <= 1e-9 * max(1.0, 0.01 / np.diff(step.x).min())
    # second-order condition: the (tridiagonal) Hessian is positive semi-definite
    H = np.diag(problem.banded_hessian(step.x, 1 / tau)[1])
    off = problem.banded_hessian(step.x, 1 / tau)[0, 1:]
    H += np.diag(off, 1) + np.diag(off, -1)
    assert np.linalg.eigvalsh(H).min() > -1e-8
    # and it is lower than the start
    def objective(x):
        return np.dot(x - y, x - y) / (2 * tau) + problem.scaled_energy(x)
    assert objective(step.x) < objective(y)


def test_mixed_problem_of_the_chapter_runs_at_a_large_step():
    mixed = JKOProblem1D(potential=double_well_1d(), interaction=AbsInteraction(0.5), beta=0.05)
    path, steps = jko_flow_1d(gaussian_particles(2000, 0.3, 1.5), 3.0, 3, mixed, return_steps=True)
    assert all(s.converged for s in steps) and np.isfinite(path).all()
    energies = [mixed.free_energy(x) for x in path]
    assert np.all(np.diff(energies) < 0)


def test_singular_backward_euler_newton_matrix_is_a_clear_error():
    with pytest.raises(ValueError, match=r"singular.*tau = 1.*tau < 1"):
        backward_euler_step(lambda y: -y, lambda y: -np.eye(1), [1.0], 1.0)


@pytest.mark.parametrize("gamma, tau", [(-10.0, 1.0), (-1.0, 0.5)])
def test_repulsive_quadratic_interaction_needs_a_small_step(gamma, tau):
    problem = JKOProblem1D(beta=0.0, interaction=QuadraticInteraction(gamma))
    with pytest.raises(ValueError, match=rf"tau must be < 1/\(2\|gamma\|\) = {1 / (2 * -gamma):g}.*gamma = {gamma:g}"):
        jko_step_1d([0.0, 0.5, 1.0], tau, problem)
    # below the bound the step exists: particles spread, x_i - mean = (y_i - mean) / (1 + 2 tau gamma)
    small = 0.9 / (2 * -gamma)
    x = jko_step_1d([0.0, 0.5, 1.0], small, problem).x
    assert np.allclose(x - 0.5, (np.array([0.0, 0.5, 1.0]) - 0.5) / (1 + 2 * small * gamma))


def test_iterates_that_stop_being_finite_raise_naming_tau():
    # V = -x^4 is unbounded below: the step has no minimiser
    steep = Potential1D(lambda x: -x ** 4, lambda x: -4 * x ** 3, lambda x: -12 * x ** 2)
    with pytest.raises(ValueError, match=r"tau = 1\b.*unbounded below.*tau <"):
        jko_step_1d([0.5, 1.0, 2.0], 1.0, JKOProblem1D(potential=steep, beta=0.0))


def test_flow_warning_points_at_the_caller_names_the_step_and_returns_the_logs():
    y = gaussian_particles(100, 3.0, 0.1)
    with pytest.warns(RuntimeWarning, match=r"jko_flow_1d, step k=\d .*max_iter=2") as rec:
        path, steps = jko_flow_1d(y, 1.0, 3, OU, max_iter=2, return_steps=True)
    assert len(rec) == 3 and all(r.filename == __file__ for r in rec)
    assert all(f"step k={k} " in str(r.message) for k, r in enumerate(rec))
    assert path.shape == (4, 100) and len(steps) == 3
    assert all(not s.converged and len(s.history) == 3 for s in steps)
    assert all(np.array_equal(s.x, x) for s, x in zip(steps, path[1:]))


def test_backward_euler_warns_once_per_failed_step_naming_it():
    with pytest.warns(RuntimeWarning, match="step k=") as rec:
        backward_euler(quartic_grad, quartic_hess, [30.0, 1.0], 1.0, 2, max_iter=2)
    assert len(rec) == 2 and all(r.filename == __file__ for r in rec)


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_unsorted_input_is_refused_naming_y(beta):
    problem = JKOProblem1D(potential=quadratic_potential_1d(), beta=beta)
    with pytest.raises(ValueError, match=r"y must be sorted.*y\[0\]"):
        jko_step_1d([1.0, 0.0, 2.0], 0.1, problem)
    with pytest.raises(ValueError, match=r"x0 must be sorted"):
        jko_flow_1d([1.0, 0.0, 2.0], 0.1, 2, problem)


@pytest.mark.parametrize("name", list(CASES))
def test_newton_converges_quadratically(name):
    # r_{k+1} <= C r_k^2 once r_k is small (above the round-off floor ~1e-11); a damped
    # Newton (x += 0.9 d) has r_{k+1} ~ 0.1 r_k and fails this as soon as r_k < 1 / (10 C).
    problem = CASES[name][0]
    step = jko_step_1d(gaussian_particles(300, 1.0, 0.5), 0.2, problem, tol=1e-13)
    r = np.array(step.history)
    small = (r[:-1] <= 1e-1) & (r[:-1] >= 1e-7)
    assert small.any()
    assert np.all(r[1:][small] <= 200.0 * r[:-1][small] ** 2), r


def test_euler_and_gaussian_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="grad must return finite values"):
        forward_euler(lambda x: np.full_like(x, np.nan), [1.0], 0.1, 3)
    with pytest.raises(ValueError, match="grad must return finite values.*iterate 0"):
        backward_euler_step(lambda x: np.full_like(x, np.nan), lambda x: np.eye(1), [1.0], 0.1)
    def steep(x):
        with np.errstate(over="ignore"):
            return 50 * x

    with pytest.warns(RuntimeWarning, match=r"forward_euler: the iterates diverge.*tau = 1"):
        path = forward_euler(steep, [1.0], 1.0, 300)
    assert np.isfinite(path).all() and len(path) < 301
    for call, error, match in [
        (lambda: ou_gaussian(1.0, np.nan, 1.0), ValueError, "m0 must be a finite number"),
        (lambda: ou_gaussian(1.0, "a", 1.0), TypeError, "m0 must be a real number"),
        (lambda: ou_gaussian("x", 0.0, 1.0), TypeError, "t must be a time"),
        (lambda: ou_jko_gaussian(np.inf, 1.0, 0.1, 2), ValueError, "m0 must be a finite"),
        (lambda: ou_jko_gaussian([1, 2], 1.0, 0.1, 2), TypeError, "m0 must be a real"),
        (lambda: gaussian_particles(5, np.nan), ValueError, "mean must be a finite"),
        (lambda: gaussian_particles(5, "a"), TypeError, "mean must be a real"),
        (lambda: quadratic_potential_1d(np.nan), ValueError, "center must be a finite"),
        (lambda: QuadraticInteraction("a"), TypeError, "gamma must be a real number, got 'a'"),
        (lambda: AbsInteraction(None), TypeError, "gamma must be a real number, got None"),
        (lambda: OU.free_energy([1.0, 0.0]), ValueError, "x must be sorted"),
    ]:
        with pytest.raises(error, match=match):
            call()


def test_a_potential_returning_the_wrong_shape_is_refused():
    bad = Potential1D(lambda x: x[:1] ** 2, lambda x: 2 * x, lambda x: 2 + 0 * x)
    with pytest.raises(ValueError, match=r"V must return an array of shape \(3,\), got shape \(1,\)"):
        jko_step_1d([0.0, 1.0, 2.0], 0.1, JKOProblem1D(potential=bad))
