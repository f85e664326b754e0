"""Symbolic checks (sympy) of the particles chapter's claims, signs and factors included."""

import sympy as sp
import pytest

N = 3  # particles in the symbolic checks


def particle_energy(k, xs):
    """g(X) = f(alpha_n) = (1/n^2) sum_ij k(x_i, x_j)."""
    n = len(xs)
    return sp.Rational(1, n ** 2) * sum(k(a, b) for a in xs for b in xs)


def chapter_gradient(k, xs, i):
    """The chapter's statement: grad_{x_i} g = (1/n) grad_W f(alpha_n)(x_i), with
    grad_W f(alpha)(x) = int d1 k(x, y) dalpha(y) + int d2 k(y, x) dalpha(y)."""
    n = len(xs)
    u, v = sp.symbols("u v")
    d1 = sp.diff(k(u, v), u)
    d2 = sp.diff(k(u, v), v)
    wasserstein = sp.Rational(1, n) * sum(
        d1.subs({u: xs[i], v: y}, simultaneous=True) + d2.subs({u: y, v: xs[i]}, simultaneous=True)
        for y in xs)
    return sp.Rational(1, n) * wasserstein


def test_gradient_identity_for_an_arbitrary_nonsymmetric_kernel():
    k = sp.Function("k")
    xs = sp.symbols(f"x1:{N + 1}")
    g = particle_energy(k, xs)
    for i in range(N):
        difference = sp.diff(g, xs[i]) - chapter_gradient(k, xs, i)
        assert sp.simplify(difference.doit()) == 0


@pytest.mark.parametrize("factor", [2, sp.Rational(1, 2), -1])
def test_a_wrong_factor_would_be_caught(factor):
    k = sp.Function("k")
    xs = sp.symbols(f"x1:{N + 1}")
    difference = sp.diff(particle_energy(k, xs), xs[0]) - factor * chapter_gradient(k, xs, 0)
    assert sp.simplify(difference.doit()) != 0


def test_symmetrising_a_nonsymmetric_kernel_by_doubling_one_term_is_wrong():
    """For k not symmetric, 2 int d1 k(x, y) dalpha(y) is not the Wasserstein gradient."""
    xs = sp.symbols(f"x1:{N + 1}")
    k = lambda x, y: x ** 2 * y + sp.sin(x - 2 * y)  # noqa: E731 - a kernel, not symmetric
    u, v = sp.symbols("u v")
    doubled = sp.Rational(2, N ** 2) * sum(sp.diff(k(u, v), u).subs({u: xs[0], v: y}) for y in xs)
    right = sp.diff(particle_energy(k, xs), xs[0])
    assert sp.simplify(right - chapter_gradient(k, xs, 0)) == 0
    assert sp.simplify(right - doubled) != 0


def test_gradient_identity_in_two_dimensions():
    xs = [sp.Matrix(sp.symbols(f"x{i}_1 x{i}_2")) for i in range(1, N + 1)]
    k = lambda x, y: x[0] * y[1] ** 2 + sp.exp(x[1] - y[0])  # noqa: E731
    g = particle_energy(k, xs)
    p, q = sp.Matrix(sp.symbols("p1 p2")), sp.Matrix(sp.symbols("q1 q2"))
    d1 = sp.Matrix([sp.diff(k(p, q), c) for c in p])
    d2 = sp.Matrix([sp.diff(k(p, q), c) for c in q])
    for i, x in enumerate(xs):
        grad_g = sp.Matrix([sp.diff(g, c) for c in x])
        wasserstein = sum((d1.subs(dict(zip(list(p) + list(q), list(x) + list(y))), simultaneous=True)
                           + d2.subs(dict(zip(list(p) + list(q), list(y) + list(x))), simultaneous=True)
                           for y in xs), sp.zeros(2, 1)) / N
        assert sp.simplify(grad_g - wasserstein / N) == sp.zeros(2, 1)


def test_quadratic_kernel_closed_forms_on_both_clocks():
    """k = |x-y|^2/2: x_i(t) = m + e^{-2t}(x_i(0) - m) solves xdot = -grad_W f (measure
    clock), and x_i(s) = m + e^{-2s/n}(x_i(0) - m) solves Xdot = -grad g (particle clock)."""
    t = sp.symbols("t", nonnegative=True)
    x0 = sp.symbols(f"a1:{N + 1}")
    m = sum(x0) / N
    k = lambda x, y: (x - y) ** 2 / 2  # noqa: E731
    for rate, clock_factor in [(2, N), (sp.Rational(2, N), 1)]:
        xs = [m + sp.exp(-rate * t) * (a - m) for a in x0]
        X = sp.symbols(f"y1:{N + 1}")
        g = particle_energy(k, X)
        for i in range(N):
            velocity = -clock_factor * sp.diff(g, X[i]).subs(dict(zip(X, xs)))
            assert sp.simplify(sp.diff(xs[i], t) - velocity) == 0


def test_potential_flow_density_solves_the_continuity_equation_with_the_right_sign():
    """Particles moving by xdot = -V'(x), V = lam x^2/2, carry N(m0 e^{-lam t}, s0^2 e^{-2 lam t});
    its density solves d_t rho = d_x(rho V') = div(rho grad V), not -div(rho grad V)."""
    x, t = sp.symbols("x t", real=True)
    lam, m0, s0 = sp.symbols("lambda m0 s0", positive=True)
    mean, std = m0 * sp.exp(-lam * t), s0 * sp.exp(-lam * t)
    rho = sp.exp(-(x - mean) ** 2 / (2 * std ** 2)) / (sp.sqrt(2 * sp.pi) * std)
    grad_V = lam * x
    assert sp.simplify(sp.diff(rho, t) - sp.diff(rho * grad_V, x)) == 0
    assert sp.simplify(sp.diff(rho, t) + sp.diff(rho * grad_V, x)) != 0


def test_explicit_euler_threshold_for_a_quadratic_potential():
    """x_{k+1} = (1 - tau lam) x_k contracts iff |1 - tau lam| < 1 iff 0 < tau < 2/lam."""
    tau, lam = sp.symbols("tau lambda", positive=True)
    region = sp.solve_univariate_inequality(sp.Abs(1 - tau * lam) < 1, tau, relational=False)
    assert region == sp.Interval.open(0, 2 / lam)


def test_euler_error_expansion_for_a_quadratic_potential():
    """(1 - tau lam)^(t/tau) = e^{-lam t} (1 - lam^2 t tau / 2 + O(tau^2)): first order."""
    tau, lam, t = sp.symbols("tau lambda t", positive=True)
    factor = sp.exp(t / tau * sp.log(1 - tau * lam))
    series = sp.series(factor, tau, 0, 2).removeO()
    assert sp.simplify(series - sp.exp(-lam * t) * (1 - lam ** 2 * t * tau / 2)) == 0


def test_power_kernel_four_two_ring_radius():
    """For k = r^4/4 - r^2/2, the uniform ring of radius R has energy 3R^4/2 - R^2,
    smallest at R = 1/sqrt(3) where it is -1/6."""
    R, theta = sp.symbols("R theta", positive=True)
    r2 = 2 * R ** 2 * (1 - sp.cos(theta))  # |x - y|^2 for two points at angle theta
    energy = sp.integrate(r2 ** 2 / 4 - r2 / 2, (theta, 0, 2 * sp.pi)) / (2 * sp.pi)
    assert sp.simplify(energy - (sp.Rational(3, 2) * R ** 4 - R ** 2)) == 0
    critical = sp.solve(sp.diff(energy, R), R)
    assert critical == [1 / sp.sqrt(3)]
    assert energy.subs(R, critical[0]) == sp.Rational(-1, 6)
