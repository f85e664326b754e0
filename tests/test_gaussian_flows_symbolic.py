"""Symbolic checks of the covariance recursion, its limit, and the product-kernel gradient."""

import sympy as sp


def generic(name, d=2, symmetric=False):
    entries = sp.symbols(f"{name}1:{d * d + 1}", real=True)
    M = sp.Matrix(d, d, entries)
    return (M + M.T) / 2 if symmetric else M


def test_covariance_recursion_and_its_limit():
    tau = sp.symbols("tau", positive=True)
    A, Sigma, I = generic("a"), generic("s", symmetric=True), sp.eye(2)
    step = (I - tau * A) * Sigma * (I - tau * A).T
    expanded = Sigma - tau * (A * Sigma + Sigma * A.T) + tau ** 2 * A * Sigma * A.T
    assert sp.simplify(step - expanded) == sp.zeros(2, 2)
    limit = ((step - Sigma) / tau).applyfunc(lambda e: sp.limit(e, tau, 0))
    assert sp.simplify(limit - (-A * Sigma - Sigma * A.T)) == sp.zeros(2, 2)
    # the common slip -A Sigma - Sigma A (no transpose) differs when A is not symmetric
    assert sp.simplify(limit - (-A * Sigma - Sigma * A)) != sp.zeros(2, 2)


def product_first_variation(A, B, points, weights, x):
    """int k(x, y) dalpha(y) + int k(y, x) dalpha(y) for k = <Ax,y><Bx,y>, alpha discrete."""
    k = lambda p, q: (q.T * A * p)[0] * (q.T * B * p)[0]  # noqa: E731
    return sum(w * (k(x, y) + k(y, x)) for y, w in zip(points, weights))


def test_product_kernel_first_variation_and_gradient():
    A, B = generic("a"), generic("b")
    points = [sp.Matrix(sp.symbols(f"y{i}_1 y{i}_2", real=True)) for i in range(3)]
    weights = sp.symbols("w0:3", positive=True)
    x = sp.Matrix(sp.symbols("x1 x2", real=True))
    Q = sum((w * y * y.T for y, w in zip(points, weights)), sp.zeros(2, 2))
    M = A.T * Q * B + A * Q * B.T
    delta = product_first_variation(A, B, points, weights, x)
    assert sp.expand(delta - (x.T * M * x)[0]) == 0
    gradient = sp.Matrix([sp.diff(delta, c) for c in x])
    assert sp.expand(gradient - (M + M.T) * x) == sp.zeros(2, 1)
    # the version with B^T Q A in place of A Q B^T is wrong for non-symmetric A, B
    wrong = A.T * Q * B + B.T * Q * A
    assert sp.expand(delta - (x.T * wrong * x)[0]) != 0


def test_bilinear_kernel_gives_a_translation():
    """k = <Ax, y>: first variation <(A + A^T) m, x>, a constant Wasserstein gradient."""
    A = generic("a")
    points = [sp.Matrix(sp.symbols(f"y{i}_1 y{i}_2", real=True)) for i in range(3)]
    weights = sp.symbols("w0:3", positive=True)
    x = sp.Matrix(sp.symbols("x1 x2", real=True))
    m = sum((w * y for y, w in zip(points, weights)), sp.zeros(2, 1))
    k = lambda p, q: (q.T * A * p)[0]  # noqa: E731
    delta = sum(w * (k(x, y) + k(y, x)) for y, w in zip(points, weights))
    assert sp.expand(delta - ((A + A.T) * m).dot(x)) == 0
