"""Hostile inputs: each is refused clearly, quickly, and nothing runs.

While these tests run, ``eval``, ``exec``, ``compile`` (other than the
AST-only compile that ``ast.parse`` uses), sympy's ``sympify`` and
``parse_expr`` on text, and ``os.system`` are replaced by tripwires, and
inputs that would create a sentinel file are checked not to have done so.
"""

import ast
import builtins
import os
import time

import pytest
import sympy
import sympy.parsing.sympy_parser

from lecture_code import answers
from lecture_code.answers import check

#: Upper bound on the time to refuse a hostile input (seconds).
REFUSAL_LIMIT = 1.0


class Tripwire(AssertionError):
    pass


#: Parts the tests below check; their set-up (reading the bank's own right
#: answers, lazy imports of numpy.random and scipy.linalg) runs before the
#: tripwires are set, so that every call made while they are set handles
#: only the hostile text.
USED_PARTS = ("fv-entropy-pde", "ex1.2a-var", "ex2.2a-var", "ex4.2a-var", "ex4.1c-shift",
              "ex2.1a-var")


@pytest.fixture
def tripwires(monkeypatch, tmp_path):
    """Make any attempt to run text as code fail the test."""
    import numpy.random  # noqa: F401  (lazy imports that use exec/eval themselves)
    import scipy.linalg  # noqa: F401
    for part in USED_PARTS:
        answers._data(part)
    real_compile = builtins.compile

    def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise Tripwire(f"compile called on {source!r:.60}")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(name):
        def trip(*args, **kwargs):
            raise Tripwire(f"{name} called with {args!r:.80}")
        return trip

    def from_text_only(name, real):
        # The import system executes the code objects of module files; that
        # is not running an answer. Text, or code compiled from text, trips.
        def guarded(code, *args, **kwargs):
            if isinstance(code, (str, bytes)) or code.co_filename.startswith("<"):
                raise Tripwire(f"{name} called on {code!r:.60}")
            return real(code, *args, **kwargs)
        return guarded

    real_sympify = sympy.sympify

    def guarded_sympify(a, *args, **kwargs):
        if isinstance(a, str):
            raise Tripwire(f"sympify called on text {a!r:.60}")
        return real_sympify(a, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", from_text_only("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", from_text_only("exec", builtins.exec))
    monkeypatch.setattr(builtins, "compile", guarded_compile)
    monkeypatch.setattr(os, "system", forbidden("os.system"))
    monkeypatch.setattr(sympy, "sympify", guarded_sympify)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden("parse_expr"))
    return tmp_path / "SENTINEL"


def _hostile(sentinel):
    s = str(sentinel)
    return {
        "import": f"__import__('os').system('touch {s}')",
        "dunder class": "().__class__",
        "dunder on a name": "rho.__class__.__bases__",
        "subclasses walk": "().__class__.__base__.__subclasses__()",
        "attribute": "rho.real",
        "attribute call": "x.T.conjugate()",
        "lambda": "(lambda: 0)()",
        "lambda without colon": "lambda",
        "list comprehension": "[x for x in rho]",
        "generator": "(x for x in (rho, rho))",
        "string": "'abc'",
        "double-quoted string": f'"{s}"',
        "bytes": "b'x'",
        "f-string": "f'{rho}'",
        "call of unlisted name": "open(1)",
        "call of eval": "eval(1)",
        "call of exec": "exec(1)",
        "getattr": "getattr(rho, 1)",
        "call of a call": "rho(x)(x)",
        "subscript": "rho[0]",
        "walrus": "(y := 1)",
        "keyword argument": "log(x=rho)",
        "starred": "log(*rho)",
        "conditional": "rho if rho else 1",
        "boolean": "rho and rho",
        "comparison": "rho < 1",
        "huge power": "10**10**10",
        "huge power tower": "9^9^9^9",
        "big exponent": "rho^1000",
        "huge literal": "1e999",
        "long integer literal": "1" * 400,
        "repeated squaring": "(((((rho^10)^10)^10)^10)^10)",
        "deep parentheses": "(" * 5000 + "1" + ")" * 5000,
        "just too deep": "(" * 13 + "rho" + ")" * 13,
        "very long": "rho+" * 50000 + "rho",
        "long unary chain": "-" * 550 + "rho",
        "long sum": "1+" * 290 + "1",
        "fullwidth letters": "\uff52\uff48\uff4f",
        "greek capital alpha": "\u0391*rho",
        "cyrillic er": "\u0440ho",
        "zero-width space": "rho\u200b",
        "right-to-left override": "\u202erho",
        "non-breaking space": "rho\u00a0+ 1",
        "empty": "",
        "blank": "   \t ",
        "semicolon": "rho; rho",
        "newline statement": "rho\nimport os",
        "assignment": "rho = 1",
        "exp tower": "exp(exp(exp(rho)))",
        "derivative tower": "laplacian(laplacian(laplacian(laplacian(rho))))",
        "expansion bomb": "(rho + x + 1 + log(rho))^10*(rho + 2 + log(rho))^10*(rho + 3)^10",
        "keyword name": "import",
        "hex literal": "0x1F",
        "complex literal": "1j",
    }


HOSTILE_NAMES = sorted(_hostile("S"))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_input_is_refused_quickly_and_runs_nothing(name, tripwires):
    text = _hostile(tripwires)[name]
    start = time.perf_counter()
    result = check("fv-entropy-pde", text)
    elapsed = time.perf_counter() - start
    assert not result.correct
    assert result.kind in ("parse_error", "unknown_name", "wrong_variable", "wrong_type",
                           "undefined")
    assert result.message and len(result.message) < 2000
    assert elapsed < REFUSAL_LIMIT, f"{name} took {elapsed:.2f} s"
    assert not tripwires.exists()


def test_refusals_say_what_and_where(tripwires):
    result = check("fv-entropy-pde", "log(rho) + __import__('os')")
    assert result.kind == "parse_error"
    assert "__import__" in result.message and result.position == 11
    result = check("fv-entropy-pde", "rho.real")
    assert "'.real'" in result.message
    result = check("fv-entropy-pde", "\u0391*rho")
    assert "U+0391" in result.message and "GREEK CAPITAL LETTER ALPHA" in result.message
    result = check("fv-entropy-pde", "rho\u200b")
    assert "ZERO WIDTH SPACE" in result.message and result.position == 3
    result = check("fv-entropy-pde", "10**10**10")
    assert "exponent" in result.message
    result = check("fv-entropy-pde", "")
    assert "empty" in result.message


def test_explicit_unicode_normalisation_is_accepted(tripwires):
    # The few typographic characters of the explicit table are read as ASCII.
    assert check("fv-entropy-pde", "\u2212(\u2212laplacian(\u03c1))").correct
    assert check("ex1.2a-var", "\u03c6\u2032(\u03c1)").correct


def test_right_answers_still_work_under_the_tripwires(tripwires):
    assert check("ex2.2a-var", "norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho").correct
    assert check("ex4.2a-var", "integral((dot(A*x, y)*dot(B*x, y) + dot(A*y, x)*dot(B*y, x))"
                               "*rho(y), y)").correct
    assert check("ex4.1c-shift", "(expm(-t*(A + A.T)) - I)*m0").correct


@pytest.mark.parametrize("text", [
    "-4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho))) + 0*rho^10",
    "div(rho*grad(norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho))",
    "(rho + 1)^10*(rho + 2)^10*(rho + 3)^10*(rho + 4)^10",
    "laplacian(laplacian(sqrt(rho)))*laplacian(laplacian(rho))/rho^2",
    "div(grad(laplacian(sqrt(rho))/sqrt(rho))) + laplacian(laplacian(log(rho)))",
])
def test_legal_but_heavy_answers_finish_within_the_time_limit(text):
    start = time.perf_counter()
    result = check("ex2.2b-pde", text)
    assert time.perf_counter() - start < answers.TIME_LIMIT
    assert result.kind in ("correct", "incorrect", "missing_term", "extra_term", "factor",
                           "sign", "parse_error", "term_factor", "term_sign", "time_limit")


def test_sympy_input_is_printed_then_parsed_like_text(tripwires):
    ns = answers.answer_symbols("ex2.1a-var")
    expr = -2 * ns["laplacian"](ns["rho"])
    assert check("ex2.1a-var", expr).correct
    with pytest.raises(TypeError, match="answer must be a string or a sympy expression"):
        check("ex2.1a-var", 3.0)


# --------------------------------------------------------------------------
# Review fixes: no raw exception, bounded time, undefined pieces refused
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "expm(A/0)*m0", "expm(log(0)*A)*m0", "expm(sqrt(-1)*A)*m0", "expm(log(-1)*A)*m0",
    "expm((-1)^(1/2)*A)*m0", "expm(A/(1 - 1))*m0", "(expm(1000*t*(A + A.T)) - I)*m0",
    "(expm(-1000*t*(A + A.T)) - I)*m0",
])
def test_undefined_matrix_exponentials_get_a_verdict_not_an_exception(text):
    result = check("ex4.1c-shift", text)  # raised TypeError before the fix
    assert not result.correct
    assert result.kind in ("undefined", "parse_error")
    assert "Not right" in result.message or "Could not read" in result.message


@pytest.mark.parametrize("part, text", [
    ("ex3.2", "0*A/0 - A*Sigma - Sigma*A.T"),
    ("ex3.2", "-A*Sigma - Sigma*A.T + 0*I/0"),
    ("ex3.2", "-A*Sigma - Sigma*A.T + 0*I/(1 - 1)"),
    ("ex3.2", "-A*Sigma - Sigma*A.T + 0*log(0)*I"),
    ("ex4.1c-shift", "(expm(-t*(A + A.T)) - I)*m0 + 0*expm(0*A/0)*m0"),
    ("fv-entropy-pde", "laplacian(rho) + 0*(-1)^(1/2)"),
    ("fv-entropy-pde", "laplacian(rho) + 0*log(rho - rho)"),
    ("fv-entropy-pde", "laplacian(rho) + 0*(rho - rho)^(-1)"),
    ("fv-entropy-pde", "laplacian(rho) + 0*0^(-1)"),
])
def test_answers_with_an_undefined_piece_are_refused(part, text):
    result = check(part, text)  # accepted ("proved symbolically") before the fix
    assert not result.correct
    assert result.kind in ("undefined", "parse_error")
    assert "zero" in result.message or "imaginary" in result.message \
        or "log(0)" in result.message


def _nested(n):
    body = "rho(y)"
    for _ in range(n - 1):
        body = f"integral({body}, y)*rho(y)"
    return f"integral({body}, y)"


@pytest.mark.parametrize("depth", [2, 3, 5, 8])
def test_nested_integrals_are_refused_or_answered_within_the_limit(depth):
    text = "integral((k(x,y) + k(y,x))*rho(y), y)*" + _nested(depth)
    start = time.perf_counter()
    result = check("fv-interaction-var", text)  # 8 levels took 11-15 s before the fix
    elapsed = time.perf_counter() - start
    assert elapsed < answers.TIME_LIMIT, f"{depth} levels took {elapsed:.2f} s"
    if depth <= 2:
        assert result.correct  # the inner integrals equal 1
    else:
        assert result.kind == "parse_error" and "integrals nest" in result.message


@pytest.mark.parametrize("text", [
    "laplacian(laplacian(rho^(1/3)*sqrt(rho)*log(rho)*exp(rho)*log(rho + 1)*sqrt(rho + 2)))",
    "laplacian(laplacian(rho^(1/3)*sqrt(rho)*log(rho)*exp(rho)))",
])
def test_heavy_derivatives_are_answered_or_refused_within_the_limit(text):
    start = time.perf_counter()
    result = check("fv-entropy-pde", text)  # the first took 4.4 s before the fix
    assert time.perf_counter() - start < answers.TIME_LIMIT
    assert not result.correct and result.kind in ("incorrect", "time_limit", "parse_error")


def test_the_wall_clock_guard_stops_a_slow_evaluation(monkeypatch):
    monkeypatch.setattr(answers, "TIME_LIMIT", 0.0)
    result = check("ex2.2b-pde", "-4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))")
    assert not result.correct and result.kind == "time_limit"
    assert "time limit" in result.message


def test_an_unexpected_exception_becomes_a_could_not_evaluate_verdict(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(answers, "_judge", broken)
    result = check("fv-entropy-pde", "laplacian(rho)")
    assert not result.correct and result.kind == "could_not_evaluate"
    assert "Could not evaluate" in result.message and "RuntimeError" in result.message
    monkeypatch.undo()
    monkeypatch.setattr(answers, "_compare", broken)  # deeper: inside the judge
    result = check("fv-entropy-pde", "laplacian(rho)")
    assert result.kind == "could_not_evaluate"
