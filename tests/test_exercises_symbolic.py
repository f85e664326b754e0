"""Symbolic checks of the solutions of exercises 1 and 2, and of the answer bank's references.

Each derivation of book/exercises.md is redone with sympy in two space
dimensions, with undefined functions for the densities, so that a wrong
sign or factor anywhere fails a test. The references of the answer bank
(``lecture_code.answer_bank``) are read into sympy with a small namespace
(grad, div, laplacian, dot, norm in 2D) and compared with the derivations.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from lecture_code.answer_bank import PARTS, parts_of

ROOT = Path(__file__).resolve().parents[1]
x, y, eps, s = sp.symbols("x y epsilon s", real=True)
X = (x, y)
rho = sp.Function("rho", positive=True)(x, y)
ra = sp.Function("rho_alpha", positive=True)(x, y)
rn = sp.Function("rho_nu", positive=True)(x, y)
eta = sp.Function("eta")(x, y)
phi = sp.Function("phi")

# concrete convex functions with phi(1) = 0, substituted for the generic phi
CONVEX = {"KL": s * sp.log(s), "chi2": (s - 1) ** 2, "reverse KL": -sp.log(s),
          "Hellinger": (sp.sqrt(s) - 1) ** 2, "cubic": s ** 3 - 1 - 3 * (s - 1)}


def grad(f):
    return sp.Matrix([sp.diff(f, v) for v in X])


def div(F):
    return sum(sp.diff(F[i], v) for i, v in enumerate(X))


def lap(f):
    return div(grad(f))


def dot(a, b):
    return (a.T * b)[0]


def zero(expr):
    """True if a scalar or a matrix expression simplifies to 0."""
    if isinstance(expr, sp.MatrixBase):
        return all(zero(e) for e in expr)
    return sp.simplify(sp.expand(sp.simplify(expr.doit()))) == 0


def concrete(expr, phi_expr):
    """Replace the generic phi (and its derivatives) by a concrete function of s."""
    return expr.replace(phi, sp.Lambda(s, phi_expr)).doit()


def first_variation(lagrangian, field):
    """Euler-Lagrange expression dL/drho - div(dL/dgrad rho) for L(rho, grad rho)."""
    p = sp.symbols("p1:3", real=True)
    r = sp.Dummy("r", positive=True)
    derivs = [sp.diff(field, v) for v in X]
    L = lagrangian.subs({d: pi for d, pi in zip(derivs, p)}).subs(field, r)
    back = {r: field, **{pi: d for pi, d in zip(p, derivs)}}
    return sp.diff(L, r).subs(back) - sum(sp.diff(sp.diff(L, pi).subs(back), v)
                                            for pi, v in zip(p, X))


# --------------------------------------------------------------------------
# exercise 1
# --------------------------------------------------------------------------
def ex1_first_variation():
    """d/deps of the integrand phi((ra + eps*eta)/rn) * rn at eps = 0, divided by eta."""
    integrand = phi((ra + eps * eta) / rn) * rn
    return sp.simplify(sp.diff(integrand, eps).subs(eps, 0) / eta)


@pytest.mark.parametrize("name", sorted(CONVEX))
def test_ex1_jensen_ingredients(name):
    f = CONVEX[name]
    assert sp.simplify(f.subs(s, 1)) == 0                                  # phi(1) = 0
    second = sp.diff(f, s, 2)
    assert all(second.subs(s, v) >= 0 for v in (sp.Rational(1, 10), 1, 3, 50))
    # E_nu[rho] = int (rho_alpha / rho_nu) rho_nu = int rho_alpha = 1 for concrete densities
    t = sp.symbols("t", real=True)
    alpha = sp.exp(-(t - 1) ** 2 / 2) / sp.sqrt(2 * sp.pi)
    nu_ = sp.exp(-t ** 2 / 8) / sp.sqrt(8 * sp.pi)
    assert sp.simplify(sp.integrate(alpha / nu_ * nu_, (t, -sp.oo, sp.oo))) == 1


def test_ex1_first_variation_is_phi_prime_of_the_ratio():
    fv = ex1_first_variation()
    for f in CONVEX.values():
        expected = sp.diff(f, s).subs(s, ra / rn)
        assert zero(concrete(fv, f) - expected)
        assert not zero(concrete(fv, f) + expected)                          # the sign matters


def test_ex1_wasserstein_gradient_and_pde():
    for f in CONVEX.values():
        fprime = sp.diff(f, s).subs(s, ra / rn)
        gradient = grad(fprime)
        chain = sp.diff(f, s, 2).subs(s, ra / rn) * grad(ra / rn)
        assert zero(gradient - chain)
    # the KL flow is the Fokker-Planck equation
    kl_pde = div(ra * grad(sp.log(ra / rn) + 1))
    assert zero(kl_pde - (lap(ra) - div(ra * grad(sp.log(rn)))))
    V = -sp.log(rn)
    assert zero(kl_pde - (lap(ra) + div(ra * grad(V))))
    # the chi-squared flow: 2 div(rho_alpha grad(rho_alpha / rho_nu))
    chi_pde = div(ra * grad(2 * (ra / rn - 1)))
    assert zero(chi_pde - 2 * div(ra * grad(ra / rn)))


# --------------------------------------------------------------------------
# exercise 2
# --------------------------------------------------------------------------
DIRICHLET = dot(grad(rho), grad(rho))
FISHER = dot(grad(rho), grad(rho)) / rho


def test_ex2_dirichlet_first_variation_and_flows():
    fv = first_variation(DIRICHLET, rho)
    assert zero(fv - (-2 * lap(rho)))
    assert zero(-fv - 2 * lap(rho))                                         # L2 flow: 2 Laplacian
    assert zero(grad(fv) - (-2 * grad(lap(rho))))
    assert zero(div(rho * grad(fv)) - (-2 * div(rho * grad(lap(rho)))))


def test_ex2_fisher_first_variation_and_its_forms():
    assert zero(FISHER - dot(grad(sp.log(rho)), grad(sp.log(rho))) * rho)
    assert zero(FISHER - 4 * dot(grad(sp.sqrt(rho)), grad(sp.sqrt(rho))))
    fv = first_variation(FISHER, rho)
    sq = sp.sqrt(rho)
    assert zero(fv - (-4 * lap(sq) / sq))
    logr = sp.log(rho)
    assert zero(fv - (dot(grad(logr), grad(logr)) - 2 * lap(rho) / rho))
    assert zero(fv - (-dot(grad(logr), grad(logr)) - 2 * lap(logr)))
    # the notes' integrand |grad log rho|^2 (no weight rho) has another first variation
    assert not zero(first_variation(dot(grad(logr), grad(logr)), rho) - fv)


def test_ex2_fisher_flows():
    sq = sp.sqrt(rho)
    fv = -4 * lap(sq) / sq
    wasserstein = div(rho * grad(fv))
    assert zero(wasserstein - (-4 * div(rho * grad(lap(sq) / sq))))
    # the DLSS form -2 sum_ij d_ij(rho d_ij log rho)
    hess = sp.hessian(sp.log(rho), X)
    dlss = -2 * sum(sp.diff(rho * hess[i, j], X[i], X[j]) for i in range(2) for j in range(2))
    assert zero(wasserstein - dlss)


# numeric checks on the torus [0, 2 pi): integrals without boundary terms
N = 64
T1 = np.arange(N) * 2 * np.pi / N


def torus(expr, *extra):
    """Evaluate a sympy expression of (x, y) for the periodic density below on an N x N grid."""
    sample = 1 + sp.Rational(1, 2) * sp.sin(x) * sp.cos(y) + sp.Rational(1, 4) * sp.cos(2 * x)
    e = expr
    for f, value in extra:
        e = e.subs(f, value)
    e = e.subs(rho, sample).doit()
    fn = sp.lambdify((x, y), e, "numpy")
    P, Q = np.meshgrid(T1, T1, indexing="ij")
    return np.broadcast_to(fn(P, Q), P.shape) * (2 * np.pi / N) ** 2


def test_ex2_energy_decreases_along_the_wasserstein_flows_and_not_with_the_wrong_sign():
    sq = sp.sqrt(rho)
    for fv in (-2 * lap(rho), -4 * lap(sq) / sq):
        rate = torus(fv * div(rho * grad(fv))).sum()         # d/dt f = int delta f * d_t rho
        dissipation = torus(rho * dot(grad(fv), grad(fv))).sum()
        assert rate < 0 and rate == pytest.approx(-dissipation, rel=1e-8)
        wrong = torus(fv * div(rho * grad(-fv))).sum()       # the notes' sign for the Fisher flow
        assert wrong > 0


def test_ex2_first_variation_matches_a_directional_derivative():
    """d/deps I(rho + eps eta) = int delta I * eta, numerically on the torus."""
    bump = sp.cos(x + 2 * y) / 5
    for lag, fv in ((DIRICHLET, -2 * lap(rho)), (FISHER, -4 * lap(sp.sqrt(rho)) / sp.sqrt(rho))):
        e = sp.Dummy("e")
        shifted = lag.subs(rho, rho + e * eta).doit()
        derivative = sp.diff(shifted, e).subs(e, 0)
        lhs = torus(derivative, (eta, bump)).sum()
        rhs = torus(fv * eta, (eta, bump)).sum()
        assert lhs == pytest.approx(rhs, rel=1e-8)


def test_ex2_l2_fisher_flow_creates_mass_at_the_rate_of_the_notes_functional():
    sq = sp.sqrt(rho)
    mass_rate = torus(4 * lap(sq) / sq).sum()
    logr = sp.log(rho)
    assert mass_rate > 0
    assert mass_rate == pytest.approx(torus(dot(grad(logr), grad(logr))).sum(), rel=1e-8)
    assert abs(torus(2 * lap(rho)).sum()) < 1e-10                          # the heat flow keeps it


# --------------------------------------------------------------------------
# the answer bank
# --------------------------------------------------------------------------
def bank_to_sympy(text):
    """Read a bank reference into sympy (2D): grad, div, laplacian, dot, norm, phi', phi''."""
    text = text.replace("^", "**").replace("phi''(", "phi2(").replace("phi'(", "phi1(")
    z = sp.Dummy("z")
    names = {
        "rho": ra / rn, "rho_alpha": ra, "rho_nu": rn,
        "grad": grad, "div": div, "laplacian": lap, "dot": dot,
        "norm": lambda v: sp.sqrt(dot(v, v)), "log": sp.log, "sqrt": sp.sqrt,
        "phi1": lambda a: sp.diff(phi(z), z).subs(z, a),
        "phi2": lambda a: sp.diff(phi(z), z, 2).subs(z, a),
    }
    return names, text


def read(part_id, density_is_ratio):
    names, text = bank_to_sympy(PARTS[part_id].reference)
    if not density_is_ratio:
        names["rho"] = rho
    return eval(text, {"__builtins__": {}}, names)  # trusted bank text, a fixed namespace


def ex1_derived():
    fv = ex1_first_variation()
    kl = sp.log(ra / rn) + 1
    return {
        "ex1.1": sp.Integer(1),
        "ex1.2a-var": fv,
        "ex1.2a-grad": grad(fv),
        "ex1.2b": div(ra * grad(fv)),
        "ex1.2c-var": kl,
        "ex1.2c-grad": grad(kl),
        "ex1.2c-pde": div(ra * grad(kl)),
    }


def ex2_derived():
    dv = first_variation(DIRICHLET, rho)
    fv = first_variation(FISHER, rho)
    return {
        "ex2.1a-var": dv, "ex2.1a-pde": -dv, "ex2.1b-grad": grad(dv),
        "ex2.1b-pde": div(rho * grad(dv)),
        "ex2.2a-var": fv, "ex2.2a-pde": -fv, "ex2.2b-grad": grad(fv),
        "ex2.2b-pde": div(rho * grad(fv)),
    }


def equal_in_bank_sense(part_id, difference):
    if PARTS[part_id].rule == "up_to_constant":
        return zero(grad(difference))
    return zero(difference)


def test_every_ex1_ex2_part_is_derived_here():
    assert set(ex1_derived()) == set(parts_of("ex1"))
    assert set(ex2_derived()) == set(parts_of("ex2"))


@pytest.mark.parametrize("part_id", parts_of("ex1"))
def test_bank_reference_equals_the_derivation_ex1(part_id):
    derived = ex1_derived()[part_id]
    ref = read(part_id, density_is_ratio=True)
    for f in (CONVEX["cubic"], CONVEX["KL"]):
        assert equal_in_bank_sense(part_id, concrete(ref - derived, f))
    if part_id != "ex1.1":
        assert not equal_in_bank_sense(part_id, concrete(ref + derived, CONVEX["cubic"]))


@pytest.mark.parametrize("part_id", parts_of("ex2"))
def test_bank_reference_equals_the_derivation_ex2(part_id):
    derived = ex2_derived()[part_id]
    ref = read(part_id, density_is_ratio=False)
    assert equal_in_bank_sense(part_id, ref - derived)
    assert not equal_in_bank_sense(part_id, ref + derived)


def test_every_exercise_part_has_an_answer_box_in_the_chapter():
    text = (ROOT / "book" / "exercises.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)
    code = "\n".join(cells)
    covered = set(re.findall(r"answer_box\(\s*[\"']([^\"']+)[\"']", code))
    for prefix in re.findall(r"answer_boxes\(\s*[\"']([^\"']+)[\"']\s*\)", code):
        covered.update(parts_of(prefix))
    wanted = {pid for pid in PARTS if pid.startswith("ex")}
    assert wanted and wanted <= covered, sorted(wanted - covered)
