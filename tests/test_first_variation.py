"""Symbolic checks of lecture_code.first_variation: each first variation, its
Wasserstein gradient and its PDE against hand-derived closed forms (signs and
factors included), and the decrease of each energy along its flow on a
Gaussian family, checked against the exact solution of the flow."""

import pytest
import sympy as sp

from lecture_code import first_variation as fv
from lecture_code.first_variation import rho, x, y

s = sp.Symbol("s", positive=True)
m = sp.Symbol("m", real=True)
sigma = sp.Symbol("sigma", positive=True)
t = sp.Symbol("t", nonnegative=True)
V = sp.Function("V")
k = sp.Function("k")
U = sp.Function("U")


def gaussian(mean, std, var=x):
    return sp.exp(-(var - mean) ** 2 / (2 * std ** 2)) / (sp.sqrt(2 * sp.pi) * std)


def same(a, b):
    return sp.simplify(sp.expand(a - b)) == 0


# ---------------------------------------------------------------- the examples
def test_potential_variation_is_V():
    result = fv.first_variation(fv.potential(V(x)))
    assert same(result.expr, V(x))
    assert same(result.wasserstein_gradient[0], V(x).diff(x))
    # d_t rho = +div(rho V'): the notes' "- div" has the wrong sign
    assert same(result.pde_rhs, sp.diff(rho(x) * V(x).diff(x), x))
    assert not same(result.pde_rhs, -sp.diff(rho(x) * V(x).diff(x), x))


def test_interaction_variation_nonsymmetric_kernel_has_both_terms():
    result = fv.first_variation(fv.interaction(k(x, y)))
    expected = (k(x, y) + k(y, x)) * rho(y)
    assert same(result.nonlocal_integrand, expected)
    # the symmetric shortcut 2 int k(x, y) d alpha(y) is wrong here
    assert not same(result.nonlocal_integrand, 2 * k(x, y) * rho(y))


def test_interaction_nonsymmetric_kernel_at_a_gaussian():
    # k(x, y) = x y^2: delta f = int (x y^2 + y x^2) d alpha(y) = x (m^2 + s^2) + x^2 m
    result = fv.first_variation(fv.interaction(x * y ** 2))
    value = result.at(gaussian(m, sigma, x))
    assert same(value, x * (m ** 2 + sigma ** 2) + x ** 2 * m)
    assert not same(value, 2 * x * (m ** 2 + sigma ** 2))


def test_interaction_symmetric_kernel_gives_twice_the_convolution():
    result = fv.first_variation(fv.interaction((x - y) ** 2 / 2))
    # 2 * int (x - y)^2 / 2 d alpha(y) = (x - m)^2 + sigma^2
    assert same(result.at(gaussian(m, sigma, x)), (x - m) ** 2 + sigma ** 2)


def test_quadratic_example_particle_velocity():
    # k(x, y) = W(x - y) with W even: at (1/n) sum delta_{p_j} the Wasserstein gradient at p_i is
    # (2/n) sum_j W'(p_i - p_j), the notes' particle system on the measure's clock
    n = 3
    p = sp.symbols(f"p1:{n + 1}", real=True)
    z = sp.Symbol("z", real=True)
    W = sp.Lambda(z, sp.exp(-z ** 2) + z ** 4)
    result = fv.first_variation(fv.interaction(W(x - y)))
    grad = sp.diff(result.at_empirical(p), x)
    for i in range(n):
        expected = sp.Rational(2, n) * sum(sp.diff(W(z), z).subs(z, p[i] - p[j]) for j in range(n))
        assert same(grad.subs(x, p[i]), expected)
    with pytest.raises(ValueError, match="infinite at an empirical measure"):
        fv.first_variation(fv.internal(s * sp.log(s), s)).at_empirical(p)


def test_internal_variation_is_U_prime():
    result = fv.first_variation(fv.internal(U(s), s))
    Up = sp.Derivative(U(rho(x)), rho(x))
    assert same(result.expr, Up)
    # the PDE is d_t rho = d_x (rho U''(rho) rho')
    assert same(result.pde_rhs,
                sp.diff(rho(x) * sp.Derivative(U(rho(x)), (rho(x), 2)) * rho(x).diff(x), x))


def test_entropy_gives_log_plus_one_and_the_forward_heat_equation():
    result = fv.first_variation(fv.internal(s * sp.log(s), s))
    assert same(result.expr, sp.log(rho(x)) + 1)
    assert result.up_to_constant and "additive constant" in result.note
    assert result.equals_up_to_constant(sp.log(rho(x)))
    # the heat equation with the right sign: d_t rho = + rho''
    assert same(result.pde_rhs, rho(x).diff(x, 2))
    assert not same(result.pde_rhs, -rho(x).diff(x, 2))
    lhs = result.pde.lhs
    assert isinstance(lhs, sp.Derivative) and lhs.variables == (sp.Symbol("t", nonnegative=True),)


def test_heat_equation_in_two_dimensions():
    (x1, x2), _ = fv.coordinates(2)
    result = fv.first_variation(fv.internal(s * sp.log(s), s, dim=2))
    r = rho(x1, x2)
    assert same(result.pde_rhs, r.diff(x1, 2) + r.diff(x2, 2))
    assert len(result.wasserstein_gradient) == 2


@pytest.mark.parametrize("power", [2, 3])
def test_porous_medium_equation(power):
    # U(s) = s^m / (m - 1) gives d_t rho = (rho^m)''
    result = fv.first_variation(fv.internal(s ** power / (power - 1), s))
    assert same(result.pde_rhs, sp.diff(rho(x) ** power, x, 2))


def test_relative_entropy_gives_fokker_planck():
    # KL(alpha | nu) with nu = e^{-V}: delta f = log(rho / nu) + 1 = log rho + V + 1
    nu = sp.exp(-x ** 2 / 2)
    result = fv.first_variation(fv.relative_entropy(nu))
    assert same(result.expr, sp.log(rho(x)) + x ** 2 / 2 + 1)
    assert same(result.pde_rhs, rho(x).diff(x, 2) + sp.diff(x * rho(x), x))


def test_dirichlet_energy_by_parts():
    # int |rho'|^2: delta f = -2 rho'', a fourth-order flow
    result = fv.first_variation(fv.local(rho(x).diff(x) ** 2))
    assert same(result.expr, -2 * rho(x).diff(x, 2))
    assert same(result.pde_rhs, -2 * sp.diff(rho(x) * rho(x).diff(x, 3), x))


def test_fisher_information():
    # int |rho'|^2 / rho: delta f = (rho'/rho)^2 - 2 rho''/rho = -4 (sqrt rho)'' / sqrt rho
    result = fv.first_variation(fv.local(rho(x).diff(x) ** 2 / rho(x)))
    r = rho(x)
    assert same(result.expr, (r.diff(x) / r) ** 2 - 2 * r.diff(x, 2) / r)
    assert same(result.expr, -4 * sp.diff(sp.sqrt(r), x, 2) / sp.sqrt(r))


def test_sums_and_multiples_add_variations():
    energy = fv.potential(V(x)) + 3 * fv.interaction(k(x, y)) + sp.Rational(1, 2) * fv.internal(s * sp.log(s), s)
    result = fv.first_variation(energy)
    assert same(result.local, V(x) + (sp.log(rho(x)) + 1) / 2)
    assert same(result.nonlocal_integrand, 3 * (k(x, y) + k(y, x)) * rho(y))
    assert sum([fv.potential(x), fv.potential(x ** 2)]).terms()[1][1].integrand == x ** 2 * rho(x)


def test_phi_divergence_variation():
    # int phi(rho / nu) nu dx: delta f = phi'(rho / nu); phi(r) = r log r gives KL's log(rho/nu) + 1
    phi, nu = sp.Function("phi"), sp.Function("nu")
    result = fv.first_variation(fv.local(phi(rho(x) / nu(x)) * nu(x)))
    r = sp.Symbol("r", positive=True)
    expected = sp.diff(phi(r), r).subs(r, rho(x) / nu(x))
    assert same(result.expr.doit(), expected.doit())
    kl = result.expr.subs(phi, sp.Lambda(r, r * sp.log(r))).doit()
    assert same(sp.expand_log(kl, force=True), sp.expand_log(sp.log(rho(x) / nu(x)) + 1, force=True))


# ---------------------------------------------------------------- dissipation
def test_heat_flow_dissipates_entropy_at_the_exact_rate():
    # the heat flow of N(m, sigma^2) is N(m, sigma^2 + 2t); its entropy is
    # -log(2 pi e (sigma^2 + 2t)) / 2, so d/dt f = -1 / sigma^2 at t = 0
    result = fv.first_variation(fv.internal(s * sp.log(s), s))
    exact_entropy = -sp.log(2 * sp.pi * sp.E * (sigma ** 2 + 2 * t)) / 2
    exact_rate = sp.diff(exact_entropy, t).subs(t, 0)
    assert same(exact_rate, -1 / sigma ** 2)
    assert same(fv.dissipation(result, gaussian(m, sigma)), 1 / sigma ** 2)
    assert same(-fv.dissipation(result, gaussian(m, sigma)), exact_rate)


def test_potential_flow_rate_equals_minus_dissipation_and_exact_solution():
    # V = x^2/2: the flow is N(m e^{-t}, sigma^2 e^{-2t}), f = (mean^2 + var) / 2
    result = fv.first_variation(fv.potential(x ** 2 / 2))
    rate = fv.rate_along_flow(result, gaussian(m, sigma))
    exact = sp.diff(((m * sp.exp(-t)) ** 2 + sigma ** 2 * sp.exp(-2 * t)) / 2, t).subs(t, 0)
    assert same(rate, exact)
    assert same(rate, -fv.dissipation(result, gaussian(m, sigma)))
    assert same(rate, -(m ** 2 + sigma ** 2))  # negative: the energy decreases


def test_interaction_flow_rate_on_gaussians():
    # k = (x - y)^2 / 2: v = -2 (x - m), the variance decays as e^{-4t} and f = variance
    result = fv.first_variation(fv.interaction((x - y) ** 2 / 2))
    diss = fv.dissipation(result, gaussian(m, sigma))
    exact = sp.diff(sigma ** 2 * sp.exp(-4 * t), t).subs(t, 0)
    assert same(-diss, exact)
    assert same(diss, 4 * sigma ** 2) and diss.is_positive


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("build, kind, words", [
    (lambda: fv.first_variation("x**2"), TypeError, "energy must be an Energy"),
    (lambda: fv.local(rho(2 * x)), ValueError, "rho(2*x)"),
    (lambda: fv.local(rho(x) * sp.Integral(rho(y), (y, 0, 1))), ValueError, "no integral"),
    (lambda: fv.local(sp.Function("eta")(x) * rho(x)), ValueError, "eta"),
    (lambda: fv.interaction(rho(x) * y), ValueError, "unsupported form"),
    (lambda: fv.potential(rho(x)), ValueError, "V must not depend on rho"),
    (lambda: fv.internal(s * x, s), ValueError, "U must depend on s only"),
    (lambda: fv.internal(s ** 2, "s"), TypeError, "s must be a sympy Symbol"),
    (lambda: fv.local("rho"), TypeError, "integrand must be a sympy expression"),
    (lambda: fv.potential(x) + fv.potential(x ** 2, dim=2), ValueError, "one dimension"),
    (lambda: fv.coordinates(0), ValueError, "dim must be >= 1"),
])
def test_unsupported_forms_are_rejected(build, kind, words):
    with pytest.raises(kind, match=words.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        build()


def test_docstring_examples():
    import doctest

    assert doctest.testmod(fv).failed == 0
