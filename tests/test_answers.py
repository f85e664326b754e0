"""The answer checker and its bank.

Three groups of tests:

* the bank's right answers are right, checked independently of the
  checker: first variations against a directional derivative of the energy
  computed with sympy and quadrature, kernel energies against derivatives
  of the particle energy, covariance recursions against push-forwards,
  matrix ODEs against limits, closed forms and particle velocities, and
  every flow against energy dissipation;
* for every part, the accepted forms are accepted and the typical wrong
  answers get the matching feedback;
* the interpreter (grad, div, laplacian, integrals, matrices), the widget
  and the command line.
"""

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from lecture_code import answers
from lecture_code.answer_bank import FEEDBACK_KINDS, PARTS, get_part
from lecture_code.answer_eval import AnswerShapeError, Instance, Value, evaluate, to_floats
from lecture_code.answer_parser import AnswerNameError, Vocabulary, parse_answer
from lecture_code.answers import answer_box, check, describe, main

ALL = sorted(PARTS)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def instance(part_id, mode="numeric", dim=None, seed=11):
    part = PARTS[part_id]
    return Instance(part.vocabulary, mode, dim or part.dim, seed=seed,
                    positive=part.positive, density=part.density,
                    measure=part.measure, relations=part.relations)


def reference(part_id, inst, text=None):
    """The bank's right answer (or ``text``) interpreted in an instance."""
    part = PARTS[part_id]
    return evaluate(parse_answer(text or part.reference, part.vocabulary), inst)


def concrete_field(inst, name, positive=True):
    f = sp.Function(name, positive=True) if positive else sp.Function(name, real=True)
    slots, expr = inst.concrete[f]
    return expr.xreplace(dict(zip(slots, inst.x)))


# --------------------------------------------------------------------------
# 1. The right answers are right (independent checks)
# --------------------------------------------------------------------------

X = np.linspace(-8.0, 8.0, 1201)  # quadrature grid for 1-d densities (trapezoid: spectral)


def _directional_derivative(lagrangian, fields, perturbed, inst):
    """d/de int L(fields with perturbed + e*eta) dx at e = 0, by sympy + quadrature."""
    x = inst.x[0]
    eps = sp.Symbol("eps")
    eta = sp.diff((1 + x / 3) * sp.exp(-3 * x ** 2), x)  # zero mass, fast decay
    values = dict(fields)
    values[perturbed] = values[perturbed] + eps * eta
    integrand = sp.diff(lagrangian(values, x), eps).subs(eps, 0)
    f = sp.lambdify(x, integrand, "numpy")
    g = sp.lambdify(x, eta, "numpy")
    return np.trapezoid(f(X), X), g(X)


_ENERGIES = {
    # part id: (Lagrangian L(fields, x), perturbed field)
    "fv-potential-var": (lambda v, x: v["V"] * v["rho"], "rho"),
    "fv-internal-var": (None, "rho"),  # uses the instance's concrete U
    "fv-entropy-var": (lambda v, x: v["rho"] * sp.log(v["rho"]), "rho"),
    "ex2.1a-var": (lambda v, x: sp.diff(v["rho"], x) ** 2, "rho"),
    "ex2.2a-var": (lambda v, x: sp.diff(v["rho"], x) ** 2 / v["rho"], "rho"),
    "ex1.2a-var": (None, "rho_alpha"),  # uses the instance's concrete phi
    "ex1.2c-var": (lambda v, x: v["rho_alpha"] * sp.log(v["rho_alpha"] / v["rho_nu"]),
                   "rho_alpha"),
}


@pytest.mark.parametrize("part_id", sorted(_ENERGIES))
def test_first_variations_match_the_derivative_of_the_energy(part_id):
    inst = instance(part_id, dim=1, seed=5)
    names = [n for n, k in PARTS[part_id].names.items() if k == "field"
             and n not in PARTS[part_id].relations]
    fields = {n: concrete_field(inst, n, n in PARTS[part_id].positive) for n in names}
    lagrangian, perturbed = _ENERGIES[part_id]
    if part_id == "fv-internal-var":
        (s,), derivs = inst.concrete_functions["U"]
        lagrangian = lambda v, x: derivs[0].xreplace({s: v["rho"]})  # noqa: E731
    if part_id == "ex1.2a-var":
        (s,), derivs = inst.concrete_functions["phi"]
        lagrangian = lambda v, x: (derivs[0].xreplace(  # noqa: E731
            {s: v["rho_alpha"] / v["rho_nu"]}) * v["rho_nu"])
    expected, eta = _directional_derivative(lagrangian, fields, perturbed, inst)
    delta = to_floats(reference(part_id, inst), inst, X[:, None])
    got = np.trapezoid(delta * eta, X)
    assert abs(got - expected) <= 1e-7 * (1 + abs(expected))
    assert abs(expected) > 1e-3  # the test perturbation actually probes the answer


# Wasserstein gradient = grad of the first variation; flows from the gradients.
_DENSITY_CHAINS = [
    # (variation, gradient, W2 flow, density of alpha)
    ("fv-potential-var", "fv-potential-grad", "fv-potential-pde", "rho"),
    ("fv-interaction-var", "fv-interaction-grad", "fv-interaction-pde", "rho"),
    ("fv-internal-var", "fv-internal-grad", "fv-internal-pde", "rho"),
    ("fv-entropy-var", "fv-entropy-grad", "fv-entropy-pde", "rho"),
    ("ex1.2a-var", "ex1.2a-grad", "ex1.2b", "rho_alpha"),
    ("ex1.2c-var", "ex1.2c-grad", "ex1.2c-pde", "rho_alpha"),
    ("ex2.1a-var", "ex2.1b-grad", "ex2.1b-pde", "rho"),
    ("ex2.2a-var", "ex2.2b-grad", "ex2.2b-pde", "rho"),
    ("ex4.1b-var", "ex4.1b", None, "rho"),
    ("ex4.2a-var", "ex4.2a-grad", None, "rho"),
]


@pytest.mark.parametrize("var, grad, pde, density", _DENSITY_CHAINS)
def test_gradients_and_flows_follow_from_the_first_variation(var, grad, pde, density):
    assert check(grad, f"grad({PARTS[var].reference})").correct
    if pde:
        assert check(pde, f"div({density}*({PARTS[grad].reference}))").correct
        assert check(pde, f"div({density}*({PARTS[grad].reference}))").proved in (True, None)


@pytest.mark.parametrize("var, pde", [("ex2.1a-var", "ex2.1a-pde"),
                                      ("ex2.2a-var", "ex2.2a-pde")])
def test_l2_flows_are_minus_the_first_variation(var, pde):
    assert check(pde, f"-({PARTS[var].reference})").correct


@pytest.mark.parametrize("var, pde", [
    ("fv-potential-var", "fv-potential-pde"), ("fv-internal-var", "fv-internal-pde"),
    ("fv-entropy-var", "fv-entropy-pde"), ("ex1.2c-var", "ex1.2c-pde"),
    ("ex2.1a-var", "ex2.1a-pde"), ("ex2.1a-var", "ex2.1b-pde"),
    ("ex2.2a-var", "ex2.2a-pde"), ("ex2.2a-var", "ex2.2b-pde")])
def test_every_flow_decreases_its_energy(var, pde):
    """d/dt f = int delta f * d/dt rho dx < 0; a flipped sign would make it > 0."""
    inst = instance(var, dim=1, seed=3)
    delta = to_floats(reference(var, inst), inst, X[:, None])
    rate = to_floats(reference(pde, inst), inst, X[:, None])
    decay = np.trapezoid(delta * rate, X)
    scale = np.trapezoid(np.abs(delta * rate), X)
    assert decay < -1e-3 * scale


def _particle_energy(part_id, inst):
    """f of the empirical measure of an instance, as a sympy function of w and Y."""
    n, d = len(inst.nodes), inst.dim
    w = sp.symbols(f"w0:{n}")
    Y = [sp.Matrix(sp.symbols(f"y{j}_0:{d}")) for j in range(n)]
    if part_id.startswith("fv-interaction"):
        slots, expr = inst.concrete[sp.Function("k", real=True)]
        kernel = lambda p, q: expr.xreplace(dict(zip(slots, list(p) + list(q))))  # noqa
    elif part_id.startswith("ex4.1"):
        A = inst.values["A"].data
        kernel = lambda p, q: (q.T * A * p)[0, 0]  # noqa: E731
    else:
        A, B = inst.values["A"].data, inst.values["B"].data
        kernel = lambda p, q: (q.T * A * p)[0, 0] * (q.T * B * p)[0, 0]  # noqa: E731
    f = sum(w[i] * w[j] * kernel(Y[i], Y[j]) for i in range(n) for j in range(n))
    subs = {w[j]: inst.weights[j] for j in range(n)}
    for j in range(n):
        subs.update(dict(zip(Y[j], inst.nodes[j])))
    return f, w, Y, subs


@pytest.mark.parametrize("var, grad", [("fv-interaction-var", "fv-interaction-grad"),
                                       ("ex4.1b-var", "ex4.1b"),
                                       ("ex4.2a-var", "ex4.2a-grad")])
def test_kernel_energies_against_particle_derivatives(var, grad):
    """d f / d w_l = delta f(y_l) (+ const) and d f / d y_l = w_l grad_W f(y_l)."""
    inst = instance(var, seed=21)
    f, w, Y, subs = _particle_energy(var, inst)
    delta = reference(var, inst)
    gradient = reference(grad, inst)
    by_weight = []
    mine = []
    for j, y in enumerate(inst.nodes):
        point = np.array([float(v) for v in y])[None, :]
        by_weight.append(float(sp.diff(f, w[j]).xreplace(subs)))
        mine.append(to_floats(delta, inst, point)[0])
        by_position = np.array([float(sp.diff(f, c).xreplace(subs)) for c in Y[j]])
        expected = by_position / float(inst.weights[j])
        np.testing.assert_allclose(to_floats(gradient, inst, point), expected,
                                   rtol=1e-9, atol=1e-9)
    by_weight, mine = np.array(by_weight), np.array(mine)
    np.testing.assert_allclose(mine - mine[0], by_weight - by_weight[0], rtol=1e-9, atol=1e-9)


def test_ex4_1a_mean_formula():
    inst = instance("ex4.1b-var", seed=4)  # provides a measure and A
    f, w, Y, subs = _particle_energy("ex4.1b-var", inst)
    value = reference("ex4.1a", inst, "m.T*A*m")
    assert abs(float(f.xreplace(subs)) - float(value.data)) < 1e-12


def _with_matrices(part_id, **values):
    inst = instance(part_id)
    for name, v in values.items():
        kind = "scalar" if np.ndim(v) == 0 else ("vector" if np.ndim(v) == 1 else "matrix")
        data = sp.Float(v) if kind == "scalar" else sp.Matrix(np.atleast_2d(v).T
                                                               if kind == "vector" else v)
        inst.values[name] = Value(kind, data)
    return np.array(reference(part_id, inst).data.tolist(), dtype=float)


def test_ex3_1_covariance_of_the_push_forward():
    rng = np.random.default_rng(0)
    A, tau = rng.normal(size=(3, 3)), 0.3
    Y = rng.normal(size=(500, 3))
    Y -= Y.mean(axis=0)
    Sigma = Y.T @ Y / len(Y)
    Z = Y @ (np.eye(3) - tau * A).T
    np.testing.assert_allclose(_with_matrices("ex3.1", A=A, Sigma=Sigma, tau=tau),
                               Z.T @ Z / len(Z), rtol=1e-10)


def test_ex3_2_is_the_limit_of_the_recursion_and_fits_the_closed_form():
    inst = instance("ex3.1", mode="symbolic")
    tau = inst.values["tau"].data
    step = (reference("ex3.1", inst).data - inst.values["Sigma"].data) / tau
    limit = step.applyfunc(lambda e: sp.limit(sp.expand(e), tau, 0))
    inst2 = instance("ex3.2", mode="symbolic")
    assert (limit - reference("ex3.2", inst2).data).applyfunc(sp.expand).is_zero_matrix
    rng = np.random.default_rng(1)
    A, S0, t, h = rng.normal(size=(3, 3)), np.eye(3), 0.7, 1e-5
    sigma = lambda s: expm(-s * A) @ S0 @ expm(-s * A).T  # noqa: E731
    derivative = (sigma(t + h) - sigma(t - h)) / (2 * h)
    np.testing.assert_allclose(_with_matrices("ex3.2", A=A, Sigma=sigma(t)), derivative,
                               rtol=1e-7, atol=1e-8)


def test_ex4_1c_shift_matches_the_particle_flow():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3))
    Y0 = rng.normal(size=(6, 3)) + 1.0
    S, t = A + A.T, 0.8

    def velocity(_, flat):
        Y = flat.reshape(Y0.shape)
        return np.tile(-S @ Y.mean(axis=0), (len(Y), 1)).ravel()
    sol = solve_ivp(velocity, (0, t), Y0.ravel(), rtol=1e-11, atol=1e-12)
    moved = sol.y[:, -1].reshape(Y0.shape) - Y0
    shift = _with_matrices("ex4.1c-shift", A=A, t=t, m0=Y0.mean(axis=0)).ravel()
    np.testing.assert_allclose(moved, np.tile(shift, (len(Y0), 1)), rtol=1e-8, atol=1e-9)


def test_ex4_2b_matches_the_velocity_of_centred_particles():
    inst = instance("ex4.2a-var", seed=9)
    n = len(inst.nodes)
    mean = sum((w * y for w, y in zip(inst.weights, inst.nodes)), sp.zeros(3, 1))
    inst.nodes = [y - mean for y in inst.nodes]  # mean zero: Q = Sigma
    f, w, Y, subs = _particle_energy("ex4.2a-var", inst)
    rate = sp.zeros(3, 3)
    Sigma = sp.zeros(3, 3)
    for j in range(n):
        v = -sp.Matrix([sp.diff(f, c).xreplace(subs) for c in Y[j]]) / inst.weights[j]
        rate += inst.weights[j] * (v * inst.nodes[j].T + inst.nodes[j] * v.T)
        Sigma += inst.weights[j] * inst.nodes[j] * inst.nodes[j].T
    A = np.array(inst.values["A"].data.tolist(), dtype=float)
    B = np.array(inst.values["B"].data.tolist(), dtype=float)
    got = _with_matrices("ex4.2b", A=A, B=B, Sigma=np.array(Sigma.tolist(), dtype=float))
    np.testing.assert_allclose(got, np.array(rate.tolist(), dtype=float), rtol=1e-10)


def test_the_notes_slips_are_rejected():
    # Backward heat equation, the Fisher flow with the wrong sign, and the
    # symmetric-kernel formula for <Ax,y><Bx,y>.
    assert check("fv-entropy-pde", "-laplacian(rho)").kind == "sign"
    assert check("ex2.2b-pde", "div(rho*grad(4*laplacian(sqrt(rho))/sqrt(rho)))").kind == "sign"
    assert not check("ex4.2a-grad", "2*(A.T*Q*B + B.T*Q*A)*x").correct
    assert not check("ex4.2a-var", "x.T*(A.T*Q*B + B.T*Q*A.T)*x").correct
    assert not check("ex2.2a-var", "-norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho").correct


# --------------------------------------------------------------------------
# 2. Every part: accepted forms and typical wrong answers
# --------------------------------------------------------------------------

def test_bank_structure():
    assert len(ALL) == len(set(ALL))
    for pid in ALL:
        part = PARTS[pid]
        assert len(set(part.accepted)) >= 2, pid
        assert len(part.wrong) >= 3, pid
        assert part.rule in ("up_to_constant", "equal")
        kinds = {k for _, k in part.wrong}
        assert kinds <= set(FEEDBACK_KINDS)
        assert kinds & {"sign", "term_sign"}, pid
        assert kinds & {"factor", "term_factor"}, pid
        # a term-level mistake, except for a part whose answer is a number
        assert kinds & {"missing_term", "extra_term"} or pid == "ex1.1", pid
    exercises = {p.exercise.split(" (")[0] for p in PARTS.values()}
    assert {"Exercise 1", "Exercise 2", "Exercise 3", "Exercise 4"} <= exercises


CASES_RIGHT = [(pid, a) for pid in ALL for a in PARTS[pid].accepted]
CASES_WRONG = [(pid, a, k) for pid in ALL for a, k in PARTS[pid].wrong]


@pytest.mark.parametrize("pid, answer", CASES_RIGHT)
def test_right_answers_in_every_written_form_are_accepted(pid, answer):
    result = check(pid, answer)
    assert result.correct, result.message
    assert result.kind == "correct" and "Correct" in result.message
    assert result.seconds < answers.TIME_LIMIT


@pytest.mark.parametrize("pid, answer, kind", CASES_WRONG)
def test_typical_wrong_answers_get_the_matching_feedback(pid, answer, kind):
    result = check(pid, answer)
    assert not result.correct
    assert result.kind == kind, result.message
    assert PARTS[pid].reference not in result.message  # nothing revealed
    assert result.solution is None
    assert result.seconds < answers.TIME_LIMIT


@pytest.mark.parametrize("pid", ALL)
def test_term_bases_add_up_to_the_right_answer(pid):
    for basis in PARTS[pid].term_bases:
        assert check(pid, " + ".join(f"({t})" for t in basis)).correct


def test_first_variation_constants_must_be_constant_in_space():
    assert check("fv-entropy-var", "log(rho) + 12").correct
    assert check("ex4.1b-var", "dot(x, (A + A.T)*m) + m.T*m").correct
    result = check("fv-entropy-var", "log(rho) + x.T*x")
    assert result.kind == "extra_term" and "x.T*x" in result.message
    assert check("fv-entropy-pde", "laplacian(rho) + 1").kind == "extra_term"  # no constant


def test_more_feedback_kinds():
    assert check("ex2.1a-var", "grad(rho)").kind == "wrong_type"
    assert check("ex2.1a-var", "-2*laplacian(u)").kind == "unknown_name"
    assert check("ex1.1", "rho").kind == "wrong_variable"
    assert check("fv-interaction-var", "k(x, y)").kind == "wrong_variable"  # y outside integral
    assert check("fv-entropy-grad", "grad(rho).T").kind == "wrong_type"
    assert check("fv-entropy-pde", "log(-rho)").kind == "undefined"
    assert check("fv-entropy-pde", "rho^2").kind == "incorrect"
    assert check("ex3.2", "-A*Sigma - Sigma*A.T + I").kind == "extra_term"
    result = check("ex2.1a-pde", "laplacian(rho) +", reveal=False)
    assert result.kind == "parse_error" and result.position is not None


# --------------------------------------------------------------------------
# Review fixes: constants, integrands, feedback labels
# --------------------------------------------------------------------------

BIG = "1000000000000"

WRONG_WITH_A_HUGE_CONSTANT = [
    ("fv-entropy-var", f"log(rho) + {BIG} + 1000*x.T*x"),
    ("fv-entropy-var", f"log(rho) + {BIG} + x.T*x"),
    ("fv-entropy-var", f"log(rho) + {BIG} + x.T*x/100000"),
    ("ex2.1a-var", f"{BIG} + 2*laplacian(rho)"),
    ("ex2.2a-var", f"{BIG} + 2*laplacian(rho)/rho"),
    ("fv-potential-var", f"{BIG} - V"),
    ("ex4.2a-var", f"{BIG} + x.T*(A.T*Q*B + B.T*Q*A)*x"),
    ("ex1.2a-var", f"{BIG} + phi(rho)"),
    ("fv-interaction-var", f"{BIG} + 2*integral(k(x,y)*rho(y), y)"),
    ("fv-entropy-var", f"(x.T*x + {BIG})^2/{BIG} + log(rho) - 2*x.T*x + x.T*x/100000"),
    ("fv-entropy-var", f"{BIG}*log(rho) - 999999999999*log(rho) + x.T*x/100000"),
]


@pytest.mark.parametrize("pid, answer", WRONG_WITH_A_HUGE_CONSTANT)
def test_a_huge_constant_does_not_hide_a_wrong_answer(pid, answer):
    result = check(pid, answer)  # each was accepted before the fix
    assert not result.correct, result.message
    assert result.kind != "correct"


@pytest.mark.parametrize("pid", [p for p in ALL if PARTS[p].rule == "up_to_constant"])
def test_a_right_answer_plus_a_huge_constant_is_accepted(pid):
    result = check(pid, f"{BIG} + {PARTS[pid].reference}")
    assert result.correct  # the constant is removed exactly, before rounding
    result = check(pid, f"{BIG} - ({PARTS[pid].reference})")
    assert not result.correct and result.kind == "sign"


def test_rounding_makes_a_huge_hidden_constant_undecidable():
    answer = f"(x.T*x + {BIG})^2/{BIG} + log(rho) - 2*x.T*x"  # right, up to rounding
    result = check("fv-entropy-var", answer)
    assert not result.correct and result.kind == "undecidable"
    assert "rounding" in result.message and "1.0e+12" in result.message


def test_integrals_need_the_density_factor():
    result = check("ex1.1", "integral(rho_nu(y), y)")  # wrong_variable before the fix
    assert not result.correct and result.kind == "unsupported"
    assert "rho_alpha(y)" in result.message
    assert check("ex1.1", "integral(rho_alpha(y) + rho_nu(y), y)").kind == "unsupported"
    assert check("ex1.1", "integral(rho(y)*rho_nu(y), y)").correct
    assert check("ex1.1", "integral(rho_alpha(y)*rho_nu(y)/rho_nu(y), y)").correct
    assert check("fv-interaction-var", "integral(k(x,y), y)").kind == "unsupported"
    assert check("fv-interaction-var", PARTS["fv-interaction-var"].reference).correct


def test_an_unknown_name_is_named_with_the_allowed_ones():
    result = check("fv-entropy-pde", "laplacian(rho) + pi")
    assert result.kind == "unknown_name"  # was wrong_variable, without "Not right"
    assert result.message.startswith("Not right")
    assert "'pi'" in result.message and "fields rho" in result.message


@pytest.mark.parametrize("answer, name", [
    ("div(rho*grad(phi'(rho)))", "rho"),
    ("div(rho_alpha*grad(phi'(rho_alpha)))", "rho_alpha"),
])
def test_a_variable_swapped_in_one_place_is_diagnosed(answer, name):
    result = check("ex1.2b", answer)  # "incorrect" before the fix
    assert result.kind == "wrong_variable", result.message
    assert f"the {name} at position" in result.message


def test_docstring_examples():
    import doctest

    from lecture_code import answer_bank, answer_eval, answer_parser
    for module in (answer_parser, answer_eval, answer_bank, answers):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_reveal_gives_a_right_answer_and_the_factor():
    result = check("ex2.1a-var", "-laplacian(rho)", reveal=True)
    assert result.solution == PARTS["ex2.1a-var"].reference
    assert "1/2 times" in result.message
    assert "A right answer" in str(result)


def test_proofs_are_attempted_and_bounded():
    assert check("ex2.2a-var", "norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho").proved is True
    assert check("ex3.1", "Sigma - tau*A*Sigma - tau*Sigma*A.T + tau^2*A*Sigma*A.T").proved
    assert check("fv-interaction-var", PARTS["fv-interaction-var"].reference).proved is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="part must be one of .*got 'ex9'"):
        check("ex9", "1")
    with pytest.raises(TypeError, match="part must be a string"):
        get_part(3)
    with pytest.raises(TypeError, match="reveal must be True or False"):
        check("ex1.1", "1", reveal="yes")


# --------------------------------------------------------------------------
# 3. Interpreter, sympy input, widget, command line
# --------------------------------------------------------------------------

def test_vector_calculus_against_sympy():
    vocab = Vocabulary(names={"x": "point", "rho": "field"})
    inst = Instance(vocab, "symbolic", 2)
    x1, x2 = inst.x
    r = sp.Function("rho", real=True)(x1, x2)  # not declared positive in this vocabulary
    lap = evaluate(parse_answer("laplacian(rho)", vocab), inst).data
    assert sp.simplify(lap - r.diff(x1, 2) - r.diff(x2, 2)) == 0
    quad = evaluate(parse_answer("dot(grad(x.T*x), x)", vocab), inst).data
    assert sp.expand(quad - 2 * (x1 ** 2 + x2 ** 2)) == 0
    d = evaluate(parse_answer("div(x*rho)", vocab), inst).data
    assert sp.simplify(d - (2 * r + x1 * r.diff(x1) + x2 * r.diff(x2))) == 0


def test_empirical_integrals_have_the_moments_of_the_instance():
    inst = instance("ex4.2a-var", seed=2)
    one = reference("ex4.2a-var", inst, "integral(rho(y), y) + 0*x.T*x")
    assert abs(float(one.data) - 1.0) < 1e-12
    m = reference("ex4.2a-grad", inst, "integral(y*rho(y), y)").data
    assert (m - inst.values["m"].data).applyfunc(sp.nsimplify) == sp.zeros(3, 1)


@pytest.mark.parametrize("text, words", [
    ("rho + x", "cannot add a scalar and a vector"),
    ("x*x", "use dot"),
    ("grad(x)", "needs a scalar"),
    ("rho/x", "cannot divide by a vector"),
])
def test_shape_errors(text, words):
    vocab = Vocabulary(names={"x": "point", "rho": "field"})
    with pytest.raises(AnswerShapeError, match=words):
        evaluate(parse_answer(text, vocab), Instance(vocab, "symbolic", 2))


def test_dummy_variable_outside_its_integral():
    vocab = Vocabulary(names={"x": "point", "y": "dummy", "rho": "field"})
    with pytest.raises(AnswerNameError, match="only appear inside integral"):
        evaluate(parse_answer("rho(y)", vocab), Instance(vocab, "symbolic", 2))


def test_sympy_expressions_are_accepted():
    ns = answers.answer_symbols("ex3.2")
    assert check("ex3.2", -ns["A"] * ns["Sigma"] - ns["Sigma"] * ns["A"].T).correct
    ns = answers.answer_symbols("ex1.2a-var")
    assert check("ex1.2a-var", sp.Function("phi'")(ns["rho"]) + 1).correct


def test_widget_checks_in_a_live_notebook():
    box = answer_box("fv-entropy-pde", static=False)
    text, button, show = box.children[1].children
    text.value = "div(grad(rho))"
    button.click()
    assert "Correct" in box.children[2].value
    text.value = "-laplacian(rho)"
    button.click()
    assert "sign" in box.children[2].value and "laplacian(rho)" not in box.children[2].value
    show.click()
    assert "laplacian(rho)" in box.children[2].value


def test_static_book_shows_a_note_not_a_dead_widget(monkeypatch):
    monkeypatch.setenv("LECTURE_CODE_STATIC_BOOK", "1")
    note = answer_box("ex3.2")
    assert isinstance(note, answers.StaticNote)
    assert "python -m lecture_code.answers ex3.2" in note._repr_html_()
    assert "ex3.2" in repr(note)


def test_one_static_note_per_exercise_and_live_boxes_otherwise(monkeypatch):
    monkeypatch.setenv("LECTURE_CODE_STATIC_BOOK", "1")
    note = answers.answer_boxes("ex3")
    assert isinstance(note, answers.StaticNote)
    assert "ex3.1, ex3.2" in note._repr_html_()
    box = answers.answer_boxes("ex3", static=False)
    assert len(box.children) == 2
    with pytest.raises(ValueError, match="no exercise part has an id starting with 'ex9'"):
        answers.answer_boxes("ex9")


def test_describe_lists_the_names():
    text = describe("ex1.2a-var")
    assert "phi" in text and "rho_alpha" in text and "additive constant" in text


def test_command_line(capsys):
    assert main(["ex2.1a-var", "-2*laplacian(rho)"]) == 0
    assert "Correct" in capsys.readouterr().out
    assert main(["ex2.1a-var", "2*laplacian(rho)", "--json"]) == 1
    assert '"kind": "sign"' in capsys.readouterr().out
    assert main(["nope", "1"]) == 2
    assert "unknown part" in capsys.readouterr().err
    assert main(["--list"]) == 0
    assert "ex4.2b" in capsys.readouterr().out
    assert main([]) == 2


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "lecture_code.answers", "ex3.2",
                          "-A*Sigma - Sigma*A.T"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "Correct" in out.stdout


def test_l2_first_variations_of_exercise_2_are_exact_not_up_to_a_constant():
    """Exercise 2's L2 flows use unconstrained perturbations: a constant changes the flow."""
    for part, right in [("ex2.1a-var", "-2*laplacian(rho)"),
                        ("ex2.2a-var", "-4*laplacian(sqrt(rho))/sqrt(rho)")]:
        assert check(part, right).correct
        wrong = check(part, right + " + 1")
        assert not wrong.correct and wrong.kind == "extra_term"
