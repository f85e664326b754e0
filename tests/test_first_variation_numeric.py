"""Numerical checks of the symbolic first variations (finite-difference
directional derivatives by quadrature), the chain rule along each flow on a
Gaussian family, and the blob particle method for the entropy."""

import numpy as np
import pytest
import sympy as sp

from lecture_code import first_variation as fv
from lecture_code.first_variation import rho, x, y
from lecture_code.particles import particle_descent

s = sp.Symbol("s", positive=True)
sigma = sp.Symbol("sigma", positive=True)


def gaussian(mean, std):
    return sp.exp(-(x - mean) ** 2 / (2 * std ** 2)) / (sp.sqrt(2 * sp.pi) * std)


@pytest.fixture(scope="module")
def points():
    """Quadrature nodes: the trapezoidal rule is spectrally accurate for these Gaussians."""
    return np.linspace(-9.0, 9.0, 801)


@pytest.fixture(scope="module")
def density():
    """A two-bump density (not a Gaussian, so no term is trivially symmetric)."""
    return (2 * gaussian(-1, sp.Rational(7, 10)) + gaussian(sp.Rational(3, 2), 1)) / 3


@pytest.fixture(scope="module")
def direction():
    """A zero-mass perturbation: a difference of two probability densities.

    Its tails are lighter than the density's, so rho +- h eta stays positive.
    """
    return gaussian(sp.Rational(1, 2), sp.Rational(1, 2)) - gaussian(-sp.Rational(1, 2), sp.Rational(3, 5))


ENERGIES = {
    "potential": fv.potential(x ** 4 / 4 - x ** 2),
    "interaction, non-symmetric": fv.interaction(sp.exp(-(x - y) ** 2) * (1 + x / 3) + x * y ** 2 / 5),
    "entropy": fv.internal(s * sp.log(s), s),
    "porous medium": fv.internal(s ** 3 / 2, s),
    "relative entropy": fv.relative_entropy(gaussian(1, 2)),
    "Dirichlet": fv.local(rho(x).diff(x) ** 2),
    "sum": fv.potential(x ** 2 / 2) + 2 * fv.interaction((x - y) ** 2 / 2) + fv.internal(s * sp.log(s), s),
}


@pytest.mark.parametrize("name", list(ENERGIES))
def test_first_variation_matches_finite_difference(name, density, direction, points):
    finite_difference, predicted = fv.directional_derivative(ENERGIES[name], density, direction, points, h=1e-4)
    # central differences: error O(h^2) ~ 1e-8 relative; quadrature near machine precision
    assert finite_difference == pytest.approx(predicted, rel=1e-6, abs=1e-9)
    assert abs(predicted) > 1e-3  # the check is not vacuous


def test_wrong_factor_would_be_caught(density, direction, points):
    # the symmetric shortcut 2 int k(x, .) d alpha for a non-symmetric kernel fails the check
    energy = ENERGIES["interaction, non-symmetric"]
    finite_difference, _ = fv.directional_derivative(energy, density, direction, points)
    wrong = fv.FirstVariation(energy, sp.Integer(0),
                              2 * energy.terms()[0][1].k * rho(y), (x,), (y,))
    eta_values = sp.lambdify(x, direction)(points)
    shortcut = np.trapezoid(fv.evaluate_variation(wrong, density, points) * eta_values, points)
    assert abs(shortcut - finite_difference) > 1e-3


def test_constant_shift_does_not_change_the_directional_derivative(density, direction, points):
    energy = ENERGIES["entropy"]
    result = fv.first_variation(energy)
    shifted = fv.FirstVariation(energy, result.local + 7, sp.Integer(0), (x,), (y,))
    eta_values = sp.lambdify(x, direction)(points)
    a = np.trapezoid(fv.evaluate_variation(result, density, points) * eta_values, points)
    b = np.trapezoid(fv.evaluate_variation(shifted, density, points) * eta_values, points)
    assert a == pytest.approx(b, abs=1e-9)  # 7 * int eta, zero up to quadrature


def test_direction_with_mass_is_rejected(density, points):
    with pytest.raises(ValueError, match="direction must have zero mass"):
        fv.directional_derivative(ENERGIES["entropy"], density, gaussian(0, 1), points)


@pytest.mark.parametrize("bad", [np.array([1.0]), np.zeros((3, 2)), [0.0, np.nan]])
def test_bad_points_are_rejected(bad, density):
    with pytest.raises(ValueError, match="points must be a finite 1D array"):
        fv.evaluate_energy(ENERGIES["entropy"], density, bad)


@pytest.mark.parametrize("name, energy", [
    ("entropy", fv.internal(s * sp.log(s), s)),
    ("interaction", fv.interaction((x - y) ** 2 / 2)),
])
def test_chain_rule_rate_equals_minus_dissipation(name, energy):
    # d/dt f = int delta f * (right side of the PDE), with no integration by parts;
    # both energies are translation invariant, so a centred Gaussian family suffices
    result = fv.first_variation(energy)
    rate = fv.rate_along_flow(result, gaussian(0, sigma))
    diss = fv.dissipation(result, gaussian(0, sigma))
    assert sp.simplify(rate + diss) == 0
    assert diss.is_positive


# ---------------------------------------------------------------- blob method
def test_blob_gradient_is_n_times_the_particle_gradient():
    # grad_{x_i} F_eps(alpha_n) = grad_W F_eps(alpha_n)(x_i) / n, checked by central differences
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 2))
    blob = fv.BlobEntropy(0.6)
    h = 1e-6
    numeric = np.zeros_like(X)
    for i in range(len(X)):
        for j in range(2):
            E = np.zeros_like(X)
            E[i, j] = h
            numeric[i, j] = (blob.value(X + E) - blob.value(X - E)) / (2 * h)
    assert np.allclose(blob.wasserstein_gradient(X) / len(X), numeric, atol=1e-8)


def test_blob_flow_spreads_like_the_heat_kernel():
    # heat flow of N(0, 1/4) for t = 0.5 is N(0, 1/4 + 1); eps small against the spread
    rng = np.random.default_rng(1)
    X0 = rng.normal(scale=0.5, size=(400, 1))
    traj = particle_descent(fv.BlobEntropy(0.15), X0, tau=0.01, n_steps=50)
    variance = traj.X[-1].var()
    assert variance == pytest.approx(0.25 + 2 * 0.5, rel=0.08)
    assert np.all(np.diff(traj.energy) < 0)  # the blob energy decreases


def test_blob_rejects_bad_width():
    with pytest.raises(ValueError, match="eps must be a finite number > 0, got -1"):
        fv.BlobEntropy(-1.0)
