"""Gaussian laws under linear dynamics and the product-kernel flow, against independent answers."""

import numpy as np
import ot
import pytest

from lecture_code import gaussian_flows as G
from lecture_code import particles as P

A = np.array([[1.0, 0.5], [-0.4, 0.8]])     # not symmetric
B = np.array([[0.7, -0.6], [0.3, 1.1]])     # not symmetric
SIGMA0 = np.array([[1.0, 0.3], [0.3, 0.5]])


def A_of_time(t):
    return np.array([[1.0 + 0.5 * np.sin(t), 0.5], [-0.4, 0.8 + 0.3 * t]])


def test_recursion_matches_monte_carlo(rng):
    X0 = rng.multivariate_normal([0, 0], SIGMA0, size=40_000)
    samples = G.linear_recursion_samples(X0, A_of_time, 0.1, 10)
    Sigmas = G.covariance_recursion(SIGMA0, A_of_time, 0.1, 10)
    for k in (0, 5, 10):
        # sampling error of a covariance entry is about |Sigma| / sqrt(n) ~ 0.005
        np.testing.assert_allclose(np.cov(samples[k].T), Sigmas[k], atol=0.02)


def test_lyapunov_closed_form_matches_an_ode_solver():
    times = np.linspace(0, 2, 5)
    closed = G.lyapunov_flow(SIGMA0, A, times)
    integrated = G.lyapunov_flow(SIGMA0, lambda t: A, times)
    np.testing.assert_allclose(closed, integrated, atol=1e-9)


@pytest.mark.parametrize("matrix", [A, A_of_time], ids=["constant A", "A(t)"])
def test_recursion_converges_to_the_lyapunov_flow_at_first_order(matrix):
    T = 1.0
    exact = G.lyapunov_flow(SIGMA0, matrix, [T])[0]
    taus = 0.1 / 2 ** np.arange(5)
    errors = [np.abs(G.covariance_recursion(SIGMA0, matrix, tau, round(T / tau))[-1] - exact).max()
              for tau in taus]
    order = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert 0.9 < order < 1.1, f"observed order {order:.3f}"


def test_wasserstein_distance_between_recursion_and_flow_shrinks_like_tau():
    """W2 between centred Gaussians (POT's Bures-Wasserstein formula) is O(tau)."""
    exact = G.lyapunov_flow(SIGMA0, A, [1.0])[0]
    taus = np.array([0.1, 0.05, 0.025, 0.0125])
    w2 = [ot.gaussian.bures_wasserstein_distance(np.zeros(2), np.zeros(2),
                                                 G.covariance_recursion(SIGMA0, A, tau, round(1 / tau))[-1],
                                                 exact) for tau in taus]
    order = np.polyfit(np.log(taus), np.log(np.asarray(w2, dtype=float)), 1)[0]
    assert 0.85 < order < 1.15, f"observed order {order:.3f}"


def test_product_kernel_gradient_formula_matches_the_raw_kernel_gradients(rng):
    X = rng.normal(size=(9, 2)) + [0.5, -0.2]
    energy = P.InteractionEnergy(G.product_kernel(A, B))
    S = G.product_kernel_velocity_matrix(A, B, X.T @ X / len(X))
    np.testing.assert_allclose(energy.wasserstein_gradient(X), X @ S.T, atol=1e-12)


def test_particles_follow_the_second_moment_ode_at_first_order(rng):
    X0 = rng.multivariate_normal([0, 0], SIGMA0, size=100)  # no sampling error: Q is exact
    Q0 = X0.T @ X0 / len(X0)
    exact = G.second_moment_flow(A, B, Q0, [0.5])[0]
    energy = P.InteractionEnergy(G.product_kernel(A, B))
    taus = np.array([0.01, 0.005, 0.0025])
    errors = []
    for tau in taus:
        X = P.particle_descent(energy, X0, tau, round(0.5 / tau), store_every=10 ** 6).X[-1]
        errors.append(np.abs(X.T @ X / len(X) - exact).max())
    order = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert 0.85 < order < 1.15, f"observed order {order:.3f}"


def test_product_kernel_flow_decreases_its_energy(rng):
    X0 = rng.multivariate_normal([0, 0], SIGMA0, size=200)
    traj = P.particle_descent(P.InteractionEnergy(G.product_kernel(A, B)), X0, 0.005, 200)
    assert (np.diff(traj.energy) <= 1e-12).all()


@pytest.mark.parametrize("call, message", [
    (lambda: G.covariance_recursion([[1.0, 0.5], [0.0, 1.0]], A, 0.1, 2), "Sigma0 must be symmetric"),
    (lambda: G.covariance_recursion([[1.0, 2.0], [2.0, 1.0]], A, 0.1, 2),
     "Sigma0 must be positive semi-definite, got an eigenvalue -1"),
    (lambda: G.covariance_recursion(SIGMA0, np.eye(3), 0.1, 2),
     r"A must have shape \(2, 2\) to match the covariance, got shape \(3, 3\)"),
    (lambda: G.covariance_recursion(SIGMA0, A, 0.0, 2), "tau must be a finite number > 0, got 0.0"),
    (lambda: G.covariance_recursion(SIGMA0, lambda t: np.eye(3), 0.1, 2), r"A\(t\) must have shape"),
    (lambda: G.product_kernel(A, np.eye(3)), r"A and B must have the same shape"),
    (lambda: G.lyapunov_flow(SIGMA0, A, [-1.0]), "times must be a non-empty list of finite times >= 0"),
    (lambda: G.second_moment_flow(A, B, SIGMA0, [0.5, -1.0]), "times must be a non-empty list"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_flows_at_time_zero_unsorted_times_and_blow_up():
    np.testing.assert_allclose(G.lyapunov_flow(SIGMA0, lambda t: A, [0.0])[0], SIGMA0)
    Q = G.second_moment_flow(A, B, SIGMA0, [0.4, 0.0, 0.2])
    np.testing.assert_allclose(Q[1], SIGMA0)
    np.testing.assert_allclose(Q[0], G.second_moment_flow(A, B, SIGMA0, [0.4])[0], rtol=1e-8)
    # d = 1, ab = -1: Sigma' = 8 Sigma^2, so Sigma_t = 1 / (1 - 8 t) blows up at t = 1/8
    np.testing.assert_allclose(G.second_moment_flow([[1.0]], [[-1.0]], [[1.0]], [0.1])[0, 0, 0],
                               1 / (1 - 0.8), rtol=1e-7)
    with pytest.raises(RuntimeError, match="blow up"):
        G.second_moment_flow([[1.0]], [[-1.0]], [[1.0]], [0.2])
