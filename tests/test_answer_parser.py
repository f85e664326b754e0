"""The safe parser: what it reads, how it reports errors, and its limits."""

import pytest

from lecture_code.answer_bank import PARTS
from lecture_code.answer_parser import (MAX_DEPTH, MAX_LENGTH, AnswerNameError,
                                        AnswerSyntaxError, Vocabulary, parse_answer,
                                        tree_names, unparse)

VOCAB = Vocabulary(names={"x": "point", "rho": "field", "A": "matrix", "tau": "scalar",
                          "y": "dummy"},
                   functions={"phi": "function", "k": "kernel"})


@pytest.mark.parametrize("left, right", [
    ("x^2", "x**2"),
    ("rho^(1/2)", "rho**(1/2)"),
    ("2*rho", "2 * rho"),
    ("\u2212rho \u00d7 tau", "-rho*tau"),          # typographic minus and times
    ("\u03c1\u00b2", "rho^2"),                      # Greek rho, superscript two
    ("\u03c6\u2032(\u03c1)", "phi'(rho)"),          # phi prime (rho)
    ("A@A", "A*A"),
    ("0.5*rho", "rho/2"),
    ("+rho", "rho"),
])
def test_equivalent_spellings_give_the_same_tree(left, right):
    a, b = parse_answer(left, VOCAB), parse_answer(right, VOCAB)
    if left == "A@A":  # matmul and mul are distinct nodes with the same meaning
        assert (a.kind, b.kind) == ("matmul", "mul")
    elif left == "0.5*rho":
        assert a.kind == "mul" and a.args[0].value == 1 / b.args[1].value  # exactly 1/2
    else:
        assert unparse(a) == unparse(b)


def test_primes_become_derivative_orders():
    tree = parse_answer("phi''(rho) + phi'(rho)", VOCAB)
    orders = sorted(n.order for n in tree.args)
    assert orders == [1, 2]
    assert tree_names(tree) == {"phi", "rho"}


def test_transpose_attribute_and_function():
    assert parse_answer("A.T", VOCAB).kind == "transpose"
    assert parse_answer("(A*A).T", VOCAB).kind == "transpose"
    assert parse_answer("transpose(A)", VOCAB).value == "transpose"


def test_decimal_literals_are_exact():
    tree = parse_answer("0.1", VOCAB)
    assert tree.value.numerator == 1 and tree.value.denominator == 10


@pytest.mark.parametrize("part", sorted(PARTS))
def test_unparse_round_trips_every_reference(part):
    spec = PARTS[part]
    tree = parse_answer(spec.reference, spec.vocabulary)
    again = parse_answer(unparse(tree), spec.vocabulary)
    assert unparse(again) == unparse(tree)


@pytest.mark.parametrize("text, position, words", [
    ("rho + $", 6, "LaTeX"),
    ("rho + 2x", 7, "missing operator"),
    ("log(rho", 3, "never closed"),
    ("rho)", 3, "no matching"),
    ("rho + 'a'", 6, "strings"),
    ("rho.real", 0, "only .T"),
    ("phi'", 3, "must be applied"),
    ("rho'(x)", 0, "only allowed on scalar functions"),
    ("log(rho, 2)", 0, "takes 1 argument"),
    ("integral(rho, x)", 14, "integration variable"),
    ("rho + () ", 6, "empty parentheses"),
])
def test_errors_name_the_piece_and_its_position(text, position, words):
    with pytest.raises(AnswerSyntaxError) as info:
        parse_answer(text, VOCAB)
    assert info.value.position == position
    assert words in str(info.value)
    assert "^" in str(info.value)  # the caret line under the offending piece


@pytest.mark.parametrize("text, name", [("u + rho", "u"), ("V", "V"), ("sin(rho)", "sin")])
def test_unknown_names_list_the_allowed_ones(text, name):
    with pytest.raises(AnswerNameError) as info:
        parse_answer(text, VOCAB)
    assert repr(name) in str(info.value) and "rho" in str(info.value)


def test_limits():
    with pytest.raises(AnswerSyntaxError, match="too long"):
        parse_answer("rho+" * (MAX_LENGTH // 4 + 1) + "rho", VOCAB)
    with pytest.raises(AnswerSyntaxError, match="nest more than"):
        parse_answer("(" * (MAX_DEPTH + 1) + "rho" + ")" * (MAX_DEPTH + 1), VOCAB)
    parse_answer("(" * MAX_DEPTH + "rho" + ")" * MAX_DEPTH, VOCAB)  # at the limit: fine
    with pytest.raises(AnswerSyntaxError, match="exponent"):
        parse_answer("rho^11", VOCAB)
    with pytest.raises(AnswerSyntaxError, match="derivatives of order"):
        parse_answer("div(grad(div(grad(laplacian(laplacian(rho))))))", VOCAB)
    with pytest.raises(AnswerSyntaxError, match="expand"):
        parse_answer("(rho + tau + 1 + phi(rho))^10*(rho + tau + 2 + phi(rho))^10*(rho + 3)^10", VOCAB)


def test_bad_arguments_raise_type_errors():
    with pytest.raises(TypeError, match="answer must be a string"):
        parse_answer(3, VOCAB)
    with pytest.raises(TypeError, match="vocabulary must be a Vocabulary"):
        parse_answer("rho", {"rho": "field"})


@pytest.mark.parametrize("text, words", [
    ("A/0", "division by zero"),
    ("0*A/0", "division by zero"),
    ("rho/(-0)", "division by zero"),
    ("0^(-1)", "negative power of zero"),
])
def test_division_by_a_literal_zero_is_refused(text, words):
    with pytest.raises(AnswerSyntaxError, match=words):
        parse_answer(text, VOCAB)


def test_integrals_nest_at_most_two_deep():
    vocab = Vocabulary(names={"x": "point", "y": "dummy", "rho": "field"})
    two = "integral(integral(rho(y), y)*rho(y), y)"
    assert parse_answer(two, vocab).value == "integral"
    with pytest.raises(AnswerSyntaxError, match="integrals nest 3 levels deep"):
        parse_answer(f"integral({two}*rho(y), y)", vocab)
