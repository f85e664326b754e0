"""Particle flows against closed forms, independent finite differences and invariants."""

import numpy as np
import pytest
from scipy.linalg import expm

from lecture_code import particles as P

# -- the kernels used throughout, symmetric and not -------------------------
A_NONSYM = np.array([[0.6, 0.9], [-0.3, 0.4]])
KERNELS = {
    "gaussian-repulsive": P.GaussianKernel(0.8),
    "gaussian-attractive": P.GaussianKernel(0.5, sign=-1),
    "quadratic": P.quadratic_kernel(),
    "power-ring": P.power_kernel(4, 2),
    "power-disk": P.power_kernel(2, 1),
    "bilinear-nonsymmetric": P.bilinear_kernel(A_NONSYM),
    "generic-nonsymmetric": P.Kernel(
        lambda x, y: np.sin(x[..., 0] - 2 * y[..., 1]) + x[..., 1] * y[..., 0] ** 2,
        lambda x, y: np.stack([np.cos(x[..., 0] - 2 * y[..., 1]), y[..., 0] ** 2 + 0 * x[..., 1]], -1),
        lambda x, y: np.stack([2 * x[..., 1] * y[..., 0], -2 * np.cos(x[..., 0] - 2 * y[..., 1])], -1),
        name="sin(x1 - 2 y2) + x2 y1^2"),
}


def numerical_gradient(g, X, h=1e-6):
    """Central differences of a scalar function of all positions."""
    grad = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        grad[idx] = (g(X + E) - g(X - E)) / (2 * h)
    return grad


@pytest.mark.parametrize("name", KERNELS)
def test_particle_gradient_is_wasserstein_gradient_over_n(name, rng):
    """grad_{x_i} g(X) = (1/n) grad_W f(alpha_n)(x_i), g by finite differences of f."""
    energy = P.InteractionEnergy(KERNELS[name])
    X = rng.normal(size=(7, 2))
    fd = numerical_gradient(energy.value, X)
    np.testing.assert_allclose(energy.wasserstein_gradient(X) / len(X), fd, atol=1e-7)


@pytest.mark.parametrize("name", [k for k in KERNELS if hasattr(KERNELS[k], "interaction_gradient")])
def test_fast_radial_gradient_matches_broadcasting(name, rng):
    kernel = KERNELS[name]
    X = rng.normal(size=(200, 3))
    np.testing.assert_allclose(kernel.interaction_gradient(X),
                               P.interaction_gradient_broadcast(kernel, X), atol=1e-11)
    np.testing.assert_allclose(kernel.matrix(X), kernel.value(X[:, None], X[None]), atol=1e-11)


def test_potential_gradient_matches_finite_differences(rng):
    V = P.quadratic_potential([1.0, -2.0], stiffness=3.0)
    X = rng.normal(size=(5, 2))
    fd = numerical_gradient(V.value, X)
    np.testing.assert_allclose(V.wasserstein_gradient(X) / len(X), fd, atol=1e-7)


# -- closed-form flows --------------------------------------------------------
def euler_error(energy, X0, exact, T, tau):
    traj = P.particle_descent(energy, X0, tau, int(round(T / tau)))
    return np.abs(traj.X[-1] - exact(X0, T)).max()


CLOSED_FORMS = {
    # V = (lam/2)|x - c|^2: x(t) = c + exp(-lam t)(x0 - c)
    "quadratic-potential": (P.quadratic_potential([0.5, -1.0], stiffness=1.5),
                            lambda X0, t: np.array([0.5, -1.0]) + np.exp(-1.5 * t) * (X0 - [0.5, -1.0])),
    # k = |x - y|^2/2: x(t) = m + exp(-2t)(x0 - m), m the (conserved) mean
    "quadratic-kernel": (P.InteractionEnergy(P.quadratic_kernel()),
                         lambda X0, t: X0.mean(0) + np.exp(-2 * t) * (X0 - X0.mean(0))),
    # k = <Ax, y>: a translation, m(t) = exp(-(A + A^T) t) m0
    "bilinear-kernel": (P.InteractionEnergy(P.bilinear_kernel(A_NONSYM)),
                        lambda X0, t: X0 - X0.mean(0) + expm(-(A_NONSYM + A_NONSYM.T) * t) @ X0.mean(0)),
}


@pytest.mark.parametrize("case", CLOSED_FORMS)
def test_descent_converges_at_first_order_to_the_closed_form(case, rng):
    energy, exact = CLOSED_FORMS[case]
    X0 = rng.normal(size=(30, 2)) + [1.0, 0.5]
    taus = np.array([0.04, 0.02, 0.01, 0.005])
    errors = np.array([euler_error(energy, X0, exact, 1.0, tau) for tau in taus])
    order = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert 0.9 < order < 1.1, f"observed order {order:.3f}"
    assert errors[-1] < 5e-3


def test_particle_clock_is_measure_clock_slowed_by_n(rng):
    """Particle time s = n t: both schemes give the same iterates, and the closed form at t = s/n."""
    energy, exact = CLOSED_FORMS["quadratic-kernel"]
    X0 = rng.normal(size=(25, 2))
    n, tau = len(X0), 1e-3
    measure = P.particle_descent(energy, X0, tau, 500, clock="measure")
    particle = P.particle_descent(energy, X0, n * tau, 500, clock="particles")
    np.testing.assert_allclose(particle.X, measure.X, atol=1e-13)
    np.testing.assert_allclose(particle.times / n, measure.times, rtol=1e-12)
    np.testing.assert_allclose(measure.X[-1], exact(X0, 0.5), atol=2e-3)


def test_push_forward_is_fourth_order_on_a_linear_field(rng):
    A = np.array([[0.5, -2.0], [1.0, 0.3]])
    X0 = rng.normal(size=(10, 2))
    exact = X0 @ expm(-A * 1.5).T
    steps = np.array([8, 16, 32, 64])
    errors = [np.abs(P.push_forward(lambda X: -X @ A.T, X0, 1.5, m)[-1] - exact).max() for m in steps]
    order = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 3.8 < order < 4.2, f"observed order {order:.3f}"


# -- gradient flows decrease their energy --------------------------------------
FLOWS = {
    "collapse (Gaussian attraction)": (P.InteractionEnergy(P.GaussianKernel(0.5, sign=-1)), 0.05),
    "spreading (confined Gaussian repulsion)": (
        P.quadratic_potential([0.0, 0.0]) + P.InteractionEnergy(P.GaussianKernel(0.5)), 0.05),
    "ring (power kernel 4, 2)": (P.InteractionEnergy(P.power_kernel(4, 2)), 0.02),
    "disk (power kernel 2, 1)": (P.InteractionEnergy(P.power_kernel(2, 1)), 0.02),
    "non-symmetric translation": (P.InteractionEnergy(P.bilinear_kernel(A_NONSYM)), 0.05),
}


@pytest.mark.parametrize("flow", FLOWS)
def test_energy_decreases_along_every_flow(flow, rng):
    energy, tau = FLOWS[flow]
    traj = P.particle_descent(energy, 0.7 * rng.normal(size=(120, 2)) + [0.3, 0.0], tau, 200)
    steps = np.diff(traj.energy)
    assert (steps <= 1e-12).all(), f"energy rose by {steps.max():.2e}"
    assert traj.energy[-1] < traj.energy[0]


def test_unstable_step_is_reported_not_returned():
    with pytest.raises(ValueError, match="lower tau"):
        P.particle_descent(P.quadratic_potential([0.0], stiffness=1.0), [[1.0]], tau=50.0, n_steps=400)


# -- bad input ---------------------------------------------------------------
@pytest.mark.parametrize("X0, message", [
    ([[0.0, np.nan], [1.0, 2.0]], r"X0 must contain only finite numbers, got \[0.0, nan\] in row 0"),
    ([0.0, 1.0, 2.0], r"X0 must have shape \(n, d\).*got shape \(3,\)"),
    (np.zeros((0, 2)), r"X0 must hold at least one particle, got shape \(0, 2\)"),
])
def test_bad_particles_are_refused(X0, message):
    with pytest.raises(ValueError, match=message):
        P.particle_descent(P.InteractionEnergy(P.quadratic_kernel()), X0, 0.1, 3)


@pytest.mark.parametrize("tau", [0.0, -0.1, np.inf])
def test_bad_step_is_refused(tau):
    with pytest.raises(ValueError, match=rf"tau must be a finite number > 0, got {tau!r}"):
        P.particle_descent(P.quadratic_potential([0.0]), [[1.0]], tau, 3)


def test_kernel_gradient_of_wrong_shape_is_refused(rng):
    bad = P.Kernel(lambda x, y: (x * y).sum(-1), lambda x, y: (x * y).sum(-1), name="bad")
    with pytest.raises(ValueError, match=r"bad.grad_x must return an array of shape \(4, 4, 2\), got shape \(4, 4\)"):
        P.InteractionEnergy(bad).wasserstein_gradient(rng.normal(size=(4, 2)))


def test_other_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="clock must be 'measure' or 'particles', got 'wall'"):
        P.particle_descent(P.quadratic_potential([0.0]), [[1.0]], 0.1, 3, clock="wall")
    with pytest.raises(ValueError, match="n_steps must be >= 0, got -1"):
        P.particle_descent(P.quadratic_potential([0.0]), [[1.0]], 0.1, -1)
    with pytest.raises(ValueError, match="sign must be 1"):
        P.GaussianKernel(1.0, sign=0)
    with pytest.raises(ValueError, match="width must be a finite number > 0, got -1"):
        P.GaussianKernel(-1)
    with pytest.raises(ValueError, match="a and b must satisfy a > b >= 1, got a=1.0, b=2.0"):
        P.power_kernel(1, 2)
    with pytest.raises(TypeError, match="kernel must be a Kernel"):
        P.InteractionEnergy(lambda x, y: x)
    with pytest.raises(ValueError, match=r"X0 must have 2 columns|v must return"):
        P.push_forward(lambda X: X[:, :1], [[1.0, 2.0]], 1.0, 4)


@pytest.mark.parametrize("name", ["power-disk", "power-ring", "gaussian-repulsive", "quadratic"])
def test_fast_gradient_survives_coincident_and_far_away_particles(name, rng):
    kernel = KERNELS[name]
    X = rng.normal(size=(50, 2)) * 1e-3 + 1e4   # far from the origin, tightly packed
    X[1] = X[0]                                   # two particles at the same point
    fast, broadcast = kernel.interaction_gradient(X), P.interaction_gradient_broadcast(kernel, X)
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, broadcast, rtol=1e-6, atol=1e-9 * np.abs(broadcast).max())


def test_blow_ups_and_nan_gradients_are_named():
    with pytest.raises(ValueError, match="the field v blows up"):
        P.push_forward(lambda X: X ** 2, [[1.0, 1.0]], 5.0, 10)
    nan_potential = P.PotentialEnergy(lambda X: (X ** 2).sum(1), lambda X: X * np.nan)
    with pytest.raises(ValueError, match="gradient of potential is NaN at step 0"):
        P.particle_descent(nan_potential, [[1.0]], 0.1, 3)
    with pytest.raises(ValueError, match="the particles have d = 2 coordinates but the potential's center has 1"):
        P.particle_descent(P.quadratic_potential([1.0]), [[1.0, 2.0]], 0.1, 3)
    with pytest.raises(TypeError, match="X0 must be an array of particle positions"):
        P.particle_descent(P.quadratic_potential([1.0]), [[1.0 + 2j]], 0.1, 3)


def test_ring_pattern_settles_on_the_predicted_circle(rng):
    """k = r^4/4 - r^2/2 in the plane: minimisers live on the circle of radius 1/sqrt(3)."""
    X0 = 0.3 * rng.normal(size=(200, 2))
    traj = P.particle_descent(P.InteractionEnergy(P.power_kernel(4, 2)), X0, 0.02, 600,
                              store_every=600)
    radii = np.linalg.norm(traj.X[-1] - traj.X[-1].mean(0), axis=1)
    assert abs(np.median(radii) - 1 / np.sqrt(3)) < 0.01
    assert traj.energy[-1] == pytest.approx(-1 / 6, abs=2e-3)
