"""Symbolic checks (sympy) of the formulas of the diffusion-models chapter.

Each test would fail if a sign or a factor in the stated formula were wrong;
the "wrong" variants next to them show that the check discriminates.
"""

import sympy as sp

x, t, s, eps = sp.symbols("x t s epsilon", real=True)
m0, T = sp.symbols("m_0 T", real=True)
s0 = sp.symbols("s_0", positive=True)
_a = sp.symbols("a", positive=True)


def gaussian(mean, var):
    return sp.exp(-(x - mean) ** 2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


# the OU marginal from N(m0, s0): mean m0 e^{-t}, variance 1 + (s0 - 1) e^{-2t}
MEAN = m0 * sp.exp(-t)
VAR = 1 + (s0 - 1) * sp.exp(-2 * t)
P = gaussian(MEAN, VAR)


def is_zero(expr):
    """Exact zero test: expand, write e^{-t} (and e^{-(T-s)}) as a symbol, cancel."""
    e = sp.expand(expr)
    e = e.subs(sp.exp(-t), _a).subs(sp.exp(t), 1 / _a)
    e = e.subs(sp.exp(s - T), _a).subs(sp.exp(T - s), 1 / _a)
    return sp.cancel(sp.together(e)) == 0


def test_first_variation_of_free_energy_and_fokker_planck():
    """delta F = V + log rho + 1, and div(rho grad delta F) = div(rho grad V) + Laplacian rho."""
    rho, eta, V = sp.Function("rho")(x), sp.Function("eta")(x), sp.Function("V")(x)
    integrand = lambda r: V * r + r * sp.log(r)  # noqa: E731
    variation = sp.diff(integrand(rho + eps * eta), eps).subs(eps, 0)
    first_variation = sp.simplify(variation / eta)
    assert is_zero(first_variation - (V + sp.log(rho) + 1))
    flow = sp.diff(rho * sp.diff(first_variation, x), x)  # -div(rho v) with v = -grad delta F
    assert is_zero(flow - (sp.diff(rho * sp.diff(V, x), x) + sp.diff(rho, x, 2)))
    # the common slip dt rho = -Laplacian rho (V = 0) is not this flow
    assert not is_zero(flow.subs(V, 0) + sp.diff(rho, x, 2))


def test_ou_closed_form_solves_fokker_planck():
    """p_t = N(m0 e^{-t}, 1 + (s0-1) e^{-2t}) solves dt p = dx(x p) + dxx p."""
    residual = sp.diff(P, t) - sp.diff(x * P, x) - sp.diff(P, x, 2)
    assert is_zero(residual / P)
    wrong = sp.diff(P, t) - sp.diff(x * P, x) + sp.diff(P, x, 2)
    assert not is_zero(wrong / P)


def test_probability_flow_velocity_transports_ou_marginals():
    """Forward velocity -x - score: dt p + dx(p u) = 0 (the continuity equation)."""
    score = sp.diff(sp.log(P), x)
    u = -x - score
    assert is_zero((sp.diff(P, t) + sp.diff(P * u, x)) / P)
    # -x - 2 score (the reverse SDE's drift, wrongly reused) does not transport p
    assert not is_zero((sp.diff(P, t) + sp.diff(P * (-x - 2 * score), x)) / P)


def test_backward_probability_flow_and_reverse_sde():
    """In reversed time s = T - t, q_s = p_{T-s} solves
    ds q + dx(q (x + score)) = 0 (PF-ODE velocity x + score) and
    ds q = -dx(q (x + 2 score)) + dxx q (reverse SDE drift x + 2 score, noise sqrt 2).
    """
    q = P.subs(t, T - s)
    score = sp.diff(sp.log(q), x)
    assert is_zero((sp.diff(q, s) + sp.diff(q * (x + score), x)) / q)
    assert is_zero((sp.diff(q, s) + sp.diff(q * (x + 2 * score), x) - sp.diff(q, x, 2)) / q)
    # the drift x + score with noise sqrt 2 does not reverse the process
    assert not is_zero((sp.diff(q, s) + sp.diff(q * (x + score), x) - sp.diff(q, x, 2)) / q)


def test_probability_flow_transports_a_noised_mixture():
    """The same holds for a two-component mixture (the flux p u = -x p - dx p is linear in p)."""
    w = sp.Rational(1, 3)
    a, sig2 = sp.exp(-t), 1 - sp.exp(-2 * t)
    p = (w * gaussian(-2 * a, a ** 2 / 9 + sig2)
         + (1 - w) * gaussian(a, a ** 2 / 4 + sig2))
    u = -x - sp.diff(p, x) / p
    residual = sp.diff(p, t) + sp.diff(p * u, x)
    # evaluate exactly-typed random points at 40 digits (a symbolic simplify is slow here)
    for xv, tv in [(sp.Rational(-3, 2), sp.Rational(1, 10)), (sp.Rational(1, 3), 1), (2, sp.Rational(5, 2))]:
        value = residual.subs({x: xv, t: tv}).evalf(40)
        scale = abs(sp.diff(p, t).subs({x: xv, t: tv}).evalf(40))
        assert abs(value) < 1e-30 * (1 + scale)
    wrong = sp.diff(p, t) + sp.diff(p * (-x - 2 * sp.diff(p, x) / p), x)
    assert abs(wrong.subs({x: 1, t: 1}).evalf(40)) > 1e-3


def test_noised_gaussian_mixture_component():
    """e^{-t} X0 + sqrt(1 - e^{-2t}) Z with X0 ~ N(mu, S) has mean e^{-t} mu and variance e^{-2t} S + 1 - e^{-2t}."""
    mu, S = sp.symbols("mu S", positive=True)
    a, sig2 = sp.exp(-t), 1 - sp.exp(-2 * t)
    var = a ** 2 * S + sig2
    p = gaussian(a * mu, var)
    assert is_zero((sp.diff(p, t) - sp.diff(x * p, x) - sp.diff(p, x, 2)) / p)


def test_euler_maruyama_stationary_variance():
    """For V = x^2/2 the scheme x' = (1 - tau) x + sqrt(2 tau) Z keeps the variance 2 / (2 - tau)."""
    tau, v = sp.symbols("tau v", positive=True)
    fixed = sp.solve(sp.Eq(v, (1 - tau) ** 2 * v + 2 * tau), v)
    assert len(fixed) == 1 and is_zero(fixed[0] - 2 / (2 - tau))
    assert is_zero(sp.series(fixed[0], tau, 0, 2).removeO() - (1 + tau / 2))
