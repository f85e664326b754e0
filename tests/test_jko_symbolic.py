"""Symbolic checks (sympy) of every formula the JKO chapter states."""

import numpy as np
import pytest
import sympy as sp

from lecture_code.jko import ou_gaussian, ou_jko_gaussian
from lecture_code.jko_1d import JKOProblem1D

x, t, tau, lam, beta = sp.symbols("x t tau lambda beta", positive=True)
m0, y = sp.symbols("m0 y", real=True)
s0 = sp.symbols("s0", positive=True)


def gaussian(xx, m, s):
    return sp.exp(-(xx - m) ** 2 / (2 * s)) / sp.sqrt(2 * sp.pi * s)


def test_forward_euler_is_stable_exactly_below_two_over_lambda():
    # x_{k+1} = (1 - tau*lambda) x_k decays iff |1 - tau*lambda| < 1.
    region = sp.solve_univariate_inequality(sp.Abs(1 - tau * lam.subs(lam, 7)) < 1, tau,
                                            relational=False)
    assert region == sp.Interval.open(0, sp.Rational(2, 7))


def test_backward_euler_factor_is_a_contraction_for_every_step():
    # y + tau*lambda*y = x  =>  y = x / (1 + tau*lambda), and the factor lies in (0, 1).
    yy = sp.symbols("yy")
    sol = sp.solve(sp.Eq(yy + tau * lam * yy, x), yy)[0]
    assert sp.simplify(sol - x / (1 + tau * lam)) == 0
    # It is the minimiser of the proximal objective |y - x|^2/(2 tau) + lambda y^2/2.
    prox = (yy - x) ** 2 / (2 * tau) + lam * yy ** 2 / 2
    assert sp.simplify(sp.diff(prox, yy).subs(yy, sol)) == 0
    factor = 1 / (1 + tau * lam)
    assert factor.is_positive and sp.simplify(1 - factor).is_positive


def test_fokker_planck_is_the_gradient_flow_of_potential_plus_entropy():
    # d_t rho = d_x(rho d_x(V + beta log rho)) = d_x(rho V') + beta rho''.
    rho = sp.Function("rho", positive=True)(x)
    V = sp.Function("V")(x)
    flux = rho * sp.diff(V + beta * sp.log(rho), x)
    assert sp.simplify(sp.diff(flux, x) - (sp.diff(rho * sp.diff(V, x), x)
                                           + beta * sp.diff(rho, x, 2))) == 0


def test_ou_gaussian_solves_the_fokker_planck_equation():
    m = m0 * sp.exp(-t)
    s = beta + (s0 - beta) * sp.exp(-2 * t)
    rho = gaussian(x, m, s)
    residual = sp.diff(rho, t) - sp.diff(rho * x, x) - beta * sp.diff(rho, x, 2)
    assert sp.simplify(residual / rho) == 0
    # and the code uses the same formula
    values = ou_gaussian(0.7, 1.5, 0.3, beta=2.0)
    subs = {m0: 1.5, s0: 0.3, beta: 2.0, t: 0.7}
    assert np.allclose(values, [float(m.subs(subs)), float(s.subs(subs))], rtol=1e-14)


def test_ou_jko_gaussian_map_satisfies_the_step_optimality_condition():
    # T(x) = m1 + a (x - m0) with m1 = m0/(1+tau), (1+tau) a^2 - a - tau beta/s0 = 0.
    a = (1 + sp.sqrt(1 + 4 * (1 + tau) * tau * beta / s0)) / (2 * (1 + tau))
    m1 = m0 / (1 + tau)
    s1 = a ** 2 * s0
    T = m1 + a * (x - m0)
    score = sp.diff(sp.log(gaussian(y, m1, s1)), y).subs(y, T)
    condition = (T - x) / tau + T + beta * score
    assert sp.simplify(condition) == 0
    # first order in tau it is the variance ODE s' = 2 beta - 2 s
    series = sp.series(s1, tau, 0, 2).removeO()
    assert sp.simplify(series - (s0 + tau * (2 * beta - 2 * s0))) == 0
    m, s = ou_jko_gaussian(0.4, 0.3, 0.25, 1, beta=2.0)
    subs = {m0: 0.4, s0: 0.3, tau: 0.25, beta: 2.0}
    assert np.allclose([m[1], s[1]], [float(m1.subs(subs)), float(s1.subs(subs))], rtol=1e-13)


@pytest.mark.parametrize("n", [3, 5])
def test_discrete_entropy_gradient_matches_its_derivative(n):
    # n f_entropy(x) = -beta sum log(n (x_{i+1} - x_i)); gradient beta (1/h_i - 1/h_{i-1}).
    xs = sp.symbols(f"x0:{n}", real=True)
    energy = -beta * sum(sp.log(n * (xs[i + 1] - xs[i])) for i in range(n - 1))
    point = {xi: v for xi, v in zip(xs, np.sort(np.random.default_rng(n).normal(size=n)))}
    point[beta] = 1.3
    expected = [float(sp.diff(energy, xi).subs(point)) for xi in xs]
    problem = JKOProblem1D(beta=1.3)
    got = problem.scaled_gradient(np.array([point[xi] for xi in xs], dtype=float))
    assert np.allclose(got, expected, rtol=1e-12)
    hess = sp.hessian(energy, xs).subs(point)
    ab = problem.banded_hessian(np.array([point[xi] for xi in xs], dtype=float), 0.0)
    assert np.allclose(ab[1], [float(hess[i, i]) for i in range(n)], rtol=1e-12)
    assert np.allclose(ab[0, 1:], [float(hess[i, i + 1]) for i in range(n - 1)], rtol=1e-12)
