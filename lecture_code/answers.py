"""Check answers to the exercises: right, helpful and safe.

:func:`check` takes the id of an exercise part (see
:mod:`lecture_code.answer_bank`) and an answer typed in plain math syntax,
such as ``"log(rho) + 1"``, ``"phi'(rho)"``, ``"x^2"`` or
``"-A*Sigma - Sigma*A.T"`` (or a sympy expression, which is printed and
read the same way), and returns a :class:`CheckResult` saying whether the
answer is right and, if not, what kind of wrong it is.

How an answer is judged
-----------------------
The text is parsed by :mod:`lecture_code.answer_parser`, which never runs
it as code. Its meaning is computed by :mod:`lecture_code.answer_eval` in
several random *instances*: concrete smooth densities, potentials,
kernels and scalar functions, and random non-commuting matrices. Writing
:math:`s` for the answer and :math:`r` for the right answer, the answer is
accepted when, at every test point of every instance,

.. math::

    |s - r - c| \\le 10^{-7}\\,(1 + \\max(|s - \\bar s|, |r - \\bar r|)),

where :math:`c = 0` and :math:`\\bar s=\\bar r=0` for an ``"equal"`` part,
and for a first variation, which is defined up to an additive constant,
:math:`c` is a constant per instance and :math:`\\bar s`, :math:`\\bar r`
are the means over the points of the instance (the constant is removed
before the tolerance is measured, so a huge constant cannot widen it; a
constant so large that rounding hides the rest of the answer is refused as
undecidable). When this numeric test passes the checker also tries to
prove the equality symbolically, with undefined functions of two
variables and 2 x 2 matrices of symbols, with bounded work, and says
whether it succeeded (a proof found there is confirmed, in three
dimensions for matrices, by the numeric test). Terms of a first variation
that do not depend on x are dropped exactly before any rounding.

Feedback compares the answer with the right answer and with its terms:
``sign`` (:math:`s=-r`), ``factor`` (:math:`s=cr`), ``missing_term``
(:math:`s` is the sum of some of the terms of :math:`r`), ``extra_term``
(dropping some of the terms of :math:`s` gives :math:`r`), ``term_sign``
and ``term_factor`` (right terms, some with a wrong sign or factor),
``order`` (right if the matrices commuted: order of factors or a
transpose), ``wrong_variable``, ``wrong_type``, ``undefined``,
``incorrect``, ``parse_error``; and refusals: ``unknown_name`` (a name the
part does not define), ``unsupported`` (an integrand without the factor of
the density of alpha), ``undecidable`` (a constant so large that rounding
hides the rest), ``time_limit`` and ``could_not_evaluate`` (an unexpected
problem; never a raw exception). It does not reveal the solution unless
``reveal=True``.

Command line::

    python -m lecture_code.answers ex2.1a-var "-2*laplacian(rho)"
    python -m lecture_code.answers --list

exits with status 0 for a right answer, 1 for a wrong or unreadable one,
and 2 for a usage error (unknown part).

Example
-------
>>> check("fv-entropy-pde", "laplacian(rho)").correct
True
>>> check("fv-entropy-pde", "-laplacian(rho)").kind
'sign'
"""

import argparse
import html
import json
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import sympy as sp

from .answer_bank import PARTS, get_part, parts_of
from .answer_eval import (AnswerShapeError, AnswerTimeLimit, AnswerUndefinedError, Instance,
                          NotSymbolic, Value, deadline, evaluate, to_floats)
from .answer_parser import (BUILTIN_FUNCTIONS, AnswerNameError, AnswerSyntaxError, Node,
                            parse_answer, unparse)
from .book_build import is_static_build

__all__ = ["CheckResult", "check", "describe", "answer_box", "answer_symbols",
           "TIME_LIMIT", "main"]

#: Seconds a check may take; tested on every part and every hostile input.
TIME_LIMIT = 3.0
#: Numeric instances per part, and test points per instance.
N_INSTANCES = 2
N_POINTS = 4
#: Relative tolerance of the numeric comparison.
RTOL = 1e-7
#: Work bound of the symbolic proof (sympy operation count).
MAX_SYMBOLIC_OPS = 1500
#: Bound on the relative rounding error of an evaluated answer: below
#: ``ROUNDING * max|s|`` two answers cannot be told apart in floating point.
ROUNDING = 64 * float(np.finfo(float).eps)
#: Most single-occurrence renames tried when looking for a swapped variable.
MAX_RENAMES = 24


@dataclass
class CheckResult:
    """The verdict on an answer.

    Attributes
    ----------
    part : str
        Id of the exercise part.
    answer : str
        The answer as read.
    correct : bool
        True if the answer is right.
    kind : str
        ``"correct"`` or one of the feedback kinds of
        :data:`lecture_code.answer_bank.FEEDBACK_KINDS`.
    message : str
        The feedback, in plain words.
    proved : bool or None
        For a right answer, whether sympy also proved the equality
        (None if the answer has no symbolic form here, e.g. an integral).
    seconds : float
        Time the check took.
    position : int or None
        Position of the offending piece, for a parse error.
    solution : str or None
        The right answer, only if asked for with ``reveal=True``.
    """

    part: str
    answer: str
    correct: bool
    kind: str
    message: str
    proved: object = None
    seconds: float = 0.0
    position: object = None
    solution: object = None

    def __str__(self):
        text = self.message
        if self.solution:
            text += f"\nA right answer: {self.solution}"
        return text

    def to_dict(self):
        """The result as a plain dict (for JSON)."""
        return asdict(self)


# --------------------------------------------------------------------------
# Per-part data: instances, the reference and its terms, computed once
# --------------------------------------------------------------------------

class _PartData:
    def __init__(self, part):
        self.part = part
        self.vocab = part.vocabulary
        has_x = "point" in part.names.values()
        options = dict(positive=part.positive, density=part.density,
                       measure=part.measure, relations=part.relations)
        self.instances = []
        self.points = []
        for i in range(N_INSTANCES):
            inst = Instance(self.vocab, "numeric", part.dim, seed=1000 + i, **options)
            rng = np.random.default_rng(2000 + i)
            pts = rng.uniform(-1, 1, size=(N_POINTS if has_x else 1, part.dim))
            self.instances.append(inst)
            self.points.append(pts)
        self.has_matrices = bool({"matrix", "symmetric"} & set(part.names.values()))
        self.commuting = None
        if self.has_matrices:
            self.commuting = Instance(self.vocab, "commuting", part.dim, seed=3000,
                                      **options)
            self.commuting_points = np.random.default_rng(3001).uniform(
                -1, 1, size=(N_POINTS if has_x else 1, part.dim))
        self.symbolic = Instance(self.vocab, "symbolic", 2, seed=0, **options)
        self.ref_tree = parse_answer(part.reference, self.vocab)
        self.ref_kind, self.ref = self.evaluate_all(self.ref_tree, part.reference)
        self.groups = self._groups()
        self.bases = [[self.values(parse_answer(t, self.vocab)) for t in basis]
                      for basis in part.term_bases]
        self.basis_text = [list(basis) for basis in part.term_bases]
        self.ref_commuting = self.commuting_values(self.ref_tree) if self.commuting else None

    def _groups(self):
        """Instance index of every entry of a value array."""
        labels = []
        for i, (inst, pts) in enumerate(zip(self.instances, self.points)):
            v = evaluate(self.ref_tree, inst)
            labels += [i] * (len(pts) * len(v.entries()))
        return np.array(labels)

    def evaluate_all(self, tree, text="", drop_constant=False):
        """The kind of the answer and its values on every instance and point.

        With ``drop_constant``, additive terms of a scalar answer that do not
        depend on x are removed exactly (in sympy's rational arithmetic)
        before any rounding, so a huge constant costs no precision.
        """
        chunks = []
        kind = None
        for inst, pts in zip(self.instances, self.points):
            v = evaluate(tree, inst, text)
            if drop_constant and v.kind == "scalar":
                v = Value("scalar", _drop_constant_terms(v.data, inst.x))
            kind = v.kind
            chunks.append(to_floats(v, inst, pts))
        return kind, np.concatenate(chunks)

    def values(self, tree, text=""):
        return self.evaluate_all(tree, text)[1]

    def commuting_values(self, tree, text=""):
        v = evaluate(tree, self.commuting, text)
        return to_floats(v, self.commuting, self.commuting_points)


def _drop_constant_terms(expr, x):
    """The sum of the additive terms of ``expr`` that depend on x."""
    if isinstance(expr, sp.Add):
        return sp.Add(*[t for t in expr.args if t.has(*x)])
    return expr if expr.has(*x) else sp.Integer(0)


@lru_cache(maxsize=None)
def _data(part_id):
    return _PartData(PARTS[part_id])


# --------------------------------------------------------------------------
# Numeric comparison and fits
# --------------------------------------------------------------------------

def _tolerance(*arrays):
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
    return RTOL * (1.0 + scale)


def _centred(v, groups):
    """v minus its mean over each instance (removes a constant per instance)."""
    out = np.array(v, dtype=float)
    for g in np.unique(groups):
        sel = groups == g
        out[sel] -= np.mean(out[sel])
    return out


def _scale(*arrays):
    return max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)


def _compare(s, r, groups, up_to_constant):
    """``"equal"``, ``"different"`` or ``"undecidable"``.

    For an ``equal`` part the test is :math:`|s-r|\\le 10^{-7}(1+\\max(|s|,|r|))`.
    Up to a constant, the constant is removed first (centring per instance)
    and the tolerance is measured on the centred values, so a huge constant
    cannot widen it. If the answer's values are so large that rounding errors
    (about :data:`ROUNDING` times them) exceed that tolerance and the
    centred difference is within them, the comparison is undecidable.
    """
    d = np.asarray(s, dtype=float) - np.asarray(r, dtype=float)
    if up_to_constant:
        d = _centred(d, groups)
        tol = RTOL * (1.0 + _scale(_centred(s, groups), _centred(r, groups)))
    else:
        tol = RTOL * (1.0 + _scale(s, r))
    worst = _scale(d)
    noise = ROUNDING * (1.0 + _scale(s, r))
    if noise > tol:
        # Rounding errors may exceed the tolerance: only a difference well
        # above them is conclusive.
        return "different" if worst > noise + tol else "undecidable"
    return "equal" if worst <= tol else "different"


def _matches(s, r, groups, up_to_constant):
    """True if s = r (+ a constant per instance when up_to_constant), decidably."""
    return _compare(s, r, groups, up_to_constant) == "equal"


def _fit(columns, target, groups, up_to_constant):
    """Coefficients a (small fractions) with target = sum a_i columns_i (+ consts)."""
    cols = [np.asarray(c, dtype=float) for c in columns]
    extra = []
    if up_to_constant:
        extra = [(groups == g).astype(float) for g in np.unique(groups)]
    M = np.column_stack(cols + extra)
    coef, *_ = np.linalg.lstsq(M, target, rcond=None)
    rounded = [Fraction(float(c)).limit_denominator(12) for c in coef[:len(cols)]]
    fitted = sum((float(a) * c for a, c in zip(rounded, cols)), np.zeros_like(target))
    rest = target - fitted
    if up_to_constant:
        rest = _centred(rest, groups)
        scale = _scale(_centred(target, groups), *[_centred(c, groups) for c in cols])
    else:
        scale = _scale(target, *cols)
    if np.all(np.abs(rest) <= RTOL * (1.0 + scale) * 10):
        return rounded
    return None


def _top_terms(node, sign=1):
    """The top-level additive terms of a tree, with their signs."""
    if node.kind == "add":
        return _top_terms(node.args[0], sign) + _top_terms(node.args[1], sign)
    if node.kind == "sub":
        return _top_terms(node.args[0], sign) + _top_terms(node.args[1], -sign)
    if node.kind == "neg":
        return _top_terms(node.args[0], -sign)
    return [(sign, node)]


# --------------------------------------------------------------------------
# Symbolic proof (bounded)
# --------------------------------------------------------------------------

def _symbolic_zero(difference, x, up_to_constant, deadline):
    """True if sympy shows the difference is 0 (or constant); None if undecided."""
    targets = []
    for e in difference.entries():
        if up_to_constant:
            targets += [sp.diff(e, xi) for xi in x]
        else:
            targets.append(e)
    for t in targets:
        if time.perf_counter() > deadline:
            return None
        if sp.count_ops(t) > MAX_SYMBOLIC_OPS:
            return None
        t = sp.expand(t)
        if t == 0:
            continue
        t = sp.expand(sp.expand_log(t, force=True))
        if t == 0:
            continue
        if sp.count_ops(t) > MAX_SYMBOLIC_OPS or time.perf_counter() > deadline:
            return None
        if sp.cancel(sp.together(t)) == 0:
            continue
        return False
    return True


# --------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------

_SHAPE_WORD = {"scalar": "a scalar", "vector": "a (column) vector", "matrix": "a matrix",
               "row": "a row vector (a transposed vector)"}


def _as_text(answer):
    if isinstance(answer, str):
        return answer
    if isinstance(answer, sp.Basic):
        return sp.sstr(answer)
    raise TypeError(f"answer must be a string or a sympy expression, got "
                    f"{type(answer).__name__}")


def check(part, answer, reveal=False):
    """Check an answer to an exercise part.

    The answer :math:`s` is right when it equals the right answer :math:`r`
    on random smooth test functions and random matrices,

    .. math::

        s(x) = r(x) + c \\quad\\text{for every test point } x,

    with :math:`c=0`, or :math:`c` any constant for a first variation
    (defined up to an additive constant).

    Parameters
    ----------
    part : str
        Id of the exercise part, e.g. ``"ex2.1a-var"`` (see
        :data:`lecture_code.answer_bank.PARTS`).
    answer : str or sympy.Basic
        The answer, in plain math syntax (``^`` or ``**`` for powers,
        ``phi'(rho)`` for derivatives of a scalar function, ``grad``, ``div``,
        ``laplacian`` in x, ``A.T`` for a transpose, ``integral(h, y)``).
    reveal : bool
        Also give a right answer in the result.

    Returns
    -------
    CheckResult

    Raises
    ------
    TypeError
        If ``part`` is not a string, ``answer`` not a string or sympy
        expression, or ``reveal`` not a bool.
    ValueError
        If ``part`` is not a known id.

    References
    ----------
    The equivalence rules follow the definitions of the first variation and
    of the Wasserstein gradient in F. Santambrogio, Optimal Transport for
    Applied Mathematicians (2015), chapters 7 and 8.

    Examples
    --------
    >>> check("fv-entropy-var", "log(rho) + 5").correct  # up to an additive constant
    True
    >>> check("ex2.1a-var", "2*laplacian(rho)").kind
    'sign'
    """
    start = time.perf_counter()
    spec = get_part(part)
    if not isinstance(reveal, bool):
        raise TypeError(f"reveal must be True or False, got {reveal!r}")
    text = _as_text(answer)
    try:
        data = _data(spec.id)
        with deadline(time.perf_counter() + TIME_LIMIT * 0.7):
            result = _judge(spec, data, text, start)
    except Exception as err:  # last resort: a verdict, never a raw exception
        result = CheckResult(
            spec.id, text, False, "could_not_evaluate",
            "Could not evaluate your answer: the checker met an unexpected problem "
            f"({type(err).__name__}). Rewrite the answer (for instance more simply) and "
            "check again; if it persists, report it with the answer.")
    result.seconds = time.perf_counter() - start
    if reveal:
        result.solution = spec.reference
        if result.kind in ("factor",) and getattr(result, "_factor", None) is not None:
            result.message = (result.message.rstrip(".")
                              + f" (it is {result._factor} times the right answer).")
    return result


def _judge(spec, data, text, start):
    def verdict(correct, kind, message, **extra):
        return CheckResult(spec.id, text, correct, kind, message, **extra)

    try:
        tree = parse_answer(text, spec.vocabulary)
    except AnswerNameError as err:
        return verdict(False, "unknown_name", "Not right: " + str(err), position=err.position)
    except AnswerSyntaxError as err:
        return verdict(False, "parse_error", "Could not read the answer: " + str(err),
                       position=err.position)
    try:
        problem = _integrand_problem(spec, data, tree, text)
        if problem is not None:
            return verdict(False, "unsupported", problem)
        kind, s = data.evaluate_all(tree, text, drop_constant=spec.rule == "up_to_constant")
    except AnswerNameError as err:
        return verdict(False, "wrong_variable", str(err), position=err.position)
    except AnswerShapeError as err:
        return verdict(False, "wrong_type", str(err), position=err.position)
    except AnswerUndefinedError as err:
        return verdict(False, "undefined", str(err), position=err.position)
    except AnswerTimeLimit as err:
        return verdict(False, "time_limit",
                       f"Could not check the answer in time: {err.reason}.")
    if kind != data.ref_kind:
        return verdict(False, "wrong_type",
                       f"Not right: the answer should be {_SHAPE_WORD[data.ref_kind]} "
                       f"({spec.asks_for}), yours is {_SHAPE_WORD[kind]}.")
    if not np.all(np.isfinite(s)):
        return verdict(False, "undefined",
                       "Not right: your answer is undefined at some test points (a log or "
                       "square root of a negative number, a division by zero, or an "
                       "overflow).")
    r = data.ref
    up = spec.rule == "up_to_constant"
    outcome = _compare(s, r, data.groups, up)
    if outcome == "undecidable":
        size = _scale(s)
        return verdict(False, "undecidable",
                       f"Could not decide: your answer reaches about {size:.1e}, and at that "
                       "size rounding errors hide the rest of it. If you added a large "
                       "constant (a first variation allows any constant), drop it or use a "
                       "smaller one, and check again.")
    if outcome == "equal":
        proved = _prove(spec, data, tree, text, start)
        pieces = []
        if "field" in spec.names.values() or spec.functions:
            pieces.append("random smooth test functions")
        if data.has_matrices:
            pieces.append("random non-commuting matrices")
        tested = " and ".join(pieces) or "random values"
        how = (f"proved symbolically and confirmed on {tested}" if proved
               else f"checked on {tested}")
        extra_note = " (up to an additive constant, which a first variation allows)" \
            if up else ""
        return verdict(True, "correct", f"Correct{extra_note}: {how}.", proved=proved)
    try:
        return _explain(spec, data, tree, text, s, verdict)
    except AnswerTimeLimit:
        return verdict(False, "incorrect",
                       "Not right: your answer differs from a right answer (the time limit "
                       "was reached before the difference could be described).")


def _prove(spec, data, tree, text, start):
    try:
        mine = evaluate(tree, data.symbolic, text)
        ref = evaluate(data.ref_tree, data.symbolic, spec.reference)
    except (NotSymbolic, AnswerSyntaxError):
        return None
    if mine.kind != ref.kind:
        return False
    diff = Value(mine.kind, mine.data - ref.data)
    return _symbolic_zero(diff, data.symbolic.x, spec.rule == "up_to_constant",
                          start + TIME_LIMIT * 0.6)


def _explain(spec, data, tree, text, s, verdict):
    r = data.ref
    groups = data.groups
    up = spec.rule == "up_to_constant"
    c = _fit([r], s, groups, up)
    if c is not None:
        c = c[0]
        if c == -1:
            return verdict(False, "sign", "Not right: your answer is off by a sign "
                           "(it is minus a right answer).")
        if c == 0:
            return verdict(False, "incorrect", "Not right: your answer does not depend on "
                           "the data the way the right answer does (it is a constant).")
        res = verdict(False, "factor", "Not right: your answer is off by a constant factor.")
        res._factor = c
        return res
    fits = []
    for basis in data.bases:
        if len(basis) >= 2:
            a = _fit(basis, s, groups, up)
            if a is not None:
                fits.append(a)
    for a in fits:
        zeros = sum(1 for v in a if v == 0)
        if all(v in (0, 1) for v in a) and zeros:
            return verdict(False, "missing_term",
                           f"Not right: a term is missing. Your answer is part of a right "
                           f"answer: {zeros} of its {len(a)} terms {'is' if zeros == 1 else 'are'} missing.")
        if not zeros and all(abs(v) == 1 for v in a):
            wrong = sum(1 for v in a if v == -1)
            return verdict(False, "term_sign",
                           f"Not right: the terms are the right ones, but {wrong} of "
                           f"them {'has' if wrong == 1 else 'have'} the wrong sign.")
    if data.commuting is not None:
        try:
            sc = data.commuting_values(tree, text)
            if np.all(np.isfinite(sc)) and _matches(sc, data.ref_commuting,
                                                    np.zeros(len(sc), int), up):
                return verdict(False, "order",
                               "Not right, but it would be right if all matrices commuted "
                               "and were symmetric: check the order of the factors and "
                               "the transposes.")
        except AnswerSyntaxError:
            pass
    if fits:
        return verdict(False, "term_factor",
                       "Not right: your answer combines the terms of a right answer with "
                       "wrong factors (some terms are missing, doubled or halved).")
    terms = _top_terms(tree)
    if len(terms) >= 2:
        try:
            cols = []
            for sign, node in terms:
                sub = node if sign > 0 else Node("neg", args=(node,), pos=node.pos)
                cols.append(data.values(sub, text))
        except AnswerSyntaxError:
            cols = None
        if cols is not None and all(np.all(np.isfinite(c)) for c in cols):
            b = _fit(cols, r, groups, up)
            if b is not None and all(v in (0, 1) for v in b) and any(v == 0 for v in b):
                extra = [("-" if sign < 0 else "") + unparse(node)
                         for (sign, node), v, col in zip(terms, b, cols) if v == 0
                         and not (up and _scale(_centred(col, groups)) == 0.0)]
                return verdict(False, "extra_term",
                               "Not right: your answer has an extra term; without it, it "
                               "would be right. Extra: " + ", ".join(extra) + ".")
    swapped = _swapped_variable(spec, data, tree, text)
    if swapped is not None:
        name, pos = swapped
        where = "where you used" if pos is None else "the"
        at = "" if pos is None else f" at position {pos}"
        return verdict(False, "wrong_variable",
                       f"Not right: check {where} {name}{at}; with another variable "
                       "of the same kind in its place the answer would be right.")
    if "point" in spec.names.values() and not up:
        if _constant_per_group(r, groups) and not _constant_per_group(s, groups):
            return verdict(False, "wrong_variable",
                           "Not right: your answer depends on x, but the right answer "
                           "does not.")
    return verdict(False, "incorrect",
                   "Not right: your answer differs from a right answer by more than a "
                   "sign, a constant factor, or a missing or extra term.")


_SAME_KIND = {"field": "field", "matrix": "matrix", "symmetric": "matrix",
              "vector": "vector", "scalar": "scalar"}


def _rename(node, old, new):
    """A copy of a tree with the variable or field ``old`` renamed ``new``."""
    value = new if node.kind in ("name", "call") and node.value == old else node.value
    args = tuple(_rename(a, old, new) for a in node.args)
    return Node(node.kind, value, args, node.pos, node.order)


def _occurrences(node, path=()):
    """Paths (tuples of argument indices) to every name and call node of a tree."""
    found = []
    if node.kind in ("name", "call"):
        found.append(path)
    for i, a in enumerate(node.args):
        found += _occurrences(a, path + (i,))
    return found


def _at(node, path):
    for i in path:
        node = node.args[i]
    return node


def _replace_at(node, path, new):
    """A copy of a tree with the name or call at ``path`` renamed ``new``."""
    if not path:
        return Node(node.kind, new, node.args, node.pos, node.order)
    args = list(node.args)
    args[path[0]] = _replace_at(args[path[0]], path[1:], new)
    return Node(node.kind, node.value, tuple(args), node.pos, node.order)


def _swapped_variable(spec, data, tree, text):
    """A name of the answer that, replaced by another of its kind, makes it right.

    Returns ``(name, None)`` when replacing every occurrence of the name
    works, ``(name, position)`` when replacing one occurrence does (``rho``
    written once for ``rho_alpha``), and None otherwise.
    """
    up = spec.rule == "up_to_constant"

    def right(candidate):
        try:
            values = data.evaluate_all(candidate, text, drop_constant=up)[1]
        except AnswerSyntaxError:
            return False
        return bool(np.all(np.isfinite(values))) and _matches(values, data.ref,
                                                               data.groups, up)

    def others(old):
        group = _SAME_KIND.get(spec.names.get(old))
        if group is None:
            return []
        return [new for new, kind in spec.names.items()
                if new != old and _SAME_KIND.get(kind) == group]

    used = [n for n in _names_in(tree) if n in spec.names]
    for old in used:
        for new in others(old):
            if right(_rename(tree, old, new)):
                return old, None
    tries = 0
    paths = _occurrences(tree)
    for old in used:
        mine = [p for p in paths if _at(tree, p).value == old]
        if len(mine) < 2:
            continue
        for p in mine:
            for new in others(old):
                tries += 1
                if tries > MAX_RENAMES:
                    return None
                if right(_replace_at(tree, p, new)):
                    return old, _at(tree, p).pos
    return None


# --------------------------------------------------------------------------
# Integrals: only against the density of alpha
# --------------------------------------------------------------------------

class _IntegrandProbe:
    """The symbolic instance, with ``integrate`` checking each integrand."""

    def __init__(self, instance, density):
        self._instance = instance
        self._density = density
        self.bad = False
        self.count = 0

    def __getattr__(self, name):
        return getattr(self._instance, name)

    def integrate(self, body):
        self.count += 1
        dim = self._instance.dim
        y = sp.Matrix(sp.symbols(f"probe{self.count}_1:{dim + 1}", real=True))
        value = body(y)
        dens = self._instance.fields[self._density](y)
        for e in value.entries():
            if e == 0 or sp.count_ops(e) > MAX_SYMBOLIC_OPS:
                continue
            denominator = sp.fraction(sp.together(e / dens))[1]
            if denominator.has(dens):
                self.bad = True
        fresh = sp.Symbol(f"probe{self.count}_value")
        if value.kind == "scalar":
            return Value("scalar", fresh)
        return Value(value.kind, value.data.applyfunc(lambda _: fresh))


def _has_integral(tree):
    stack = [tree]
    while stack:
        n = stack.pop()
        if n.kind == "call" and n.value == "integral":
            return True
        stack.extend(n.args)
    return False


def _integrand_problem(spec, data, tree, text):
    """A message if an integrand lacks the factor of the density of alpha, else None.

    Integrals are evaluated against a discrete measure standing for alpha,
    :math:`\\int h\\,dy \\approx \\sum_j w_j h(y_j)/\\rho_\\alpha(y_j)`, which is
    right only when :math:`h/\\rho_\\alpha` is a function of the data; an
    integrand such as :math:`\\rho_\\nu(y)` alone would be misjudged.
    """
    if spec.density is None or not _has_integral(tree):
        return None
    probe = _IntegrandProbe(data.symbolic, spec.density)
    try:
        evaluate(tree, probe, text)
    except (NotSymbolic, AnswerSyntaxError, TypeError, ValueError):
        return None  # the numeric evaluation reports these
    if not probe.bad:
        return None
    return (f"Could not check this answer: the checker integrates only against the "
            f"density {spec.density} of alpha, so every term of an integrand must contain "
            f"the factor {spec.density}(y), as in integral(h(y)*{spec.density}(y), y). "
            "Rewrite the integral in that form, or work out its value.")


def _names_in(tree):
    found = []
    stack = [tree]
    while stack:
        n = stack.pop()
        if n.kind in ("name", "call") and n.value not in found:
            found.append(n.value)
        stack.extend(n.args)
    return sorted(found)


def _constant_per_group(v, groups):
    for g in np.unique(groups):
        sel = v[groups == g]
        if np.max(np.abs(sel - sel[0])) > _tolerance(v):
            return False
    return True


# --------------------------------------------------------------------------
# Help, sympy input, widget
# --------------------------------------------------------------------------

_KIND_WORDS = {"point": "the point of R^d", "dummy": "integration variable",
               "field": "scalar field (alone: its value at x)", "scalar": "number",
               "vector": "vector", "matrix": "matrix", "symmetric": "symmetric matrix",
               "identity": "identity matrix", "function": "scalar function of one variable "
               "(derivatives: f'(s), f''(s))", "kernel": "function of two points"}


def describe(part):
    """A short text: the question and the names an answer may use.

    Raises
    ------
    ValueError
        If ``part`` is not a known id.
    """
    spec = get_part(part)
    lines = [f"{spec.id}: {spec.question}", f"Give {spec.asks_for}"
             + (" (any additive constant is fine)." if spec.rule == "up_to_constant" else ".")]
    names = [f"{n} ({_KIND_WORDS[k]})" for n, k in spec.names.items()]
    names += [f"{n} ({_KIND_WORDS[k]})" for n, k in spec.functions.items()]
    lines.append("Names: " + "; ".join(names) + ".")
    lines.append("Functions: " + ", ".join(BUILTIN_FUNCTIONS) + ".")
    return "\n".join(lines)


def answer_symbols(part):
    """sympy objects to build an answer for ``part`` as a sympy expression.

    Fields and numbers are symbols, matrices and vectors ``MatrixSymbol``,
    and the operators ``grad``, ``div``, ``laplacian``, ``dot`` undefined
    functions; the expression is printed and then read like typed text.

    Examples
    --------
    >>> ns = answer_symbols("ex3.2")
    >>> check("ex3.2", -ns["A"] * ns["Sigma"] - ns["Sigma"] * ns["A"].T).correct
    True
    """
    spec = get_part(part)
    d = spec.dim
    ns = {}
    for name, kind in spec.names.items():
        if kind in ("matrix", "symmetric", "identity"):
            ns[name] = sp.MatrixSymbol(name, d, d)
        elif kind == "vector" or (kind == "point" and spec.dim == 3):
            ns[name] = sp.MatrixSymbol(name, d, 1)
        else:
            ns[name] = sp.Symbol(name)
    for name in list(spec.functions) + list(BUILTIN_FUNCTIONS):
        ns[name] = sp.Function(name)
    return ns


class StaticNote:
    """What the static book shows instead of widgets: how to check answers.

    ``parts`` is one exercise part or a list of them (one note for all).
    """

    def __init__(self, parts):
        self.parts = list(parts) if isinstance(parts, (list, tuple)) else [parts]
        self.part = self.parts[0]

    def _ids(self):
        return ", ".join(p.id for p in self.parts)

    def text(self):
        return (f"To check your answer to {self._ids()}, run "
                f"check(\"{self.part.id}\", \"your answer\") from lecture_code.answers "
                f"in a live notebook (with the part's id), or in a terminal: "
                f"python -m lecture_code.answers {self.part.id} \"your answer\".")

    def __repr__(self):
        return self.text()

    def _repr_html_(self):
        first = html.escape(self.part.id)
        return ("<p class=\"answer-check-note\"><strong>Check your answer</strong> "
                f"({html.escape(self._ids())}): in a live notebook, run "
                f"<code>check(\"{first}\", \"your answer\")</code> with the part's id; "
                "in a terminal, "
                f"<code>python -m lecture_code.answers {first} "
                "\"your answer\"</code>. Running this chapter as a notebook shows a "
                "box to type each answer in.</p>")


def answer_box(part, static=None):
    """A text box, a check button and the feedback, for one exercise part.

    In the static HTML book (``static=None`` and
    :func:`lecture_code.book_build.is_static_build`), returns a
    :class:`StaticNote` saying how to check answers instead of a widget
    that would look live and do nothing.

    Parameters
    ----------
    part : str
        Id of the exercise part.
    static : bool or None
        Force the static note (True) or the widget (False).

    Returns
    -------
    ipywidgets.VBox or StaticNote

    Raises
    ------
    ValueError
        If ``part`` is not a known id.
    """
    spec = get_part(part)
    if static is None:
        static = is_static_build()
    if static:
        return StaticNote(spec)
    import ipywidgets as widgets

    names = ", ".join(list(spec.names) + [f"{f}(...)" for f in spec.functions])
    text = widgets.Text(placeholder=f"{spec.asks_for.split('$')[0]}... (names: {names})",
                        layout=widgets.Layout(width="60%"))
    button = widgets.Button(description="Check", button_style="primary")
    show = widgets.Button(description="Show a solution")
    feedback = widgets.HTML()

    def on_check(_):
        result = check(spec.id, text.value)
        color = "green" if result.correct else "#b00"
        feedback.value = (f"<pre style=\"color:{color}; white-space:pre-wrap\">"
                          f"{html.escape(result.message)}</pre>")

    def on_show(_):
        feedback.value = (f"<pre style=\"white-space:pre-wrap\">A right answer: "
                          f"{html.escape(spec.reference)}</pre>")

    button.on_click(on_check)
    show.on_click(on_show)
    header = widgets.HTML(f"<b>{html.escape(spec.id)}</b>: give {html.escape(spec.asks_for)}")
    return widgets.VBox([header, widgets.HBox([text, button, show]), feedback])


def answer_boxes(prefix, static=None):
    """Answer boxes for every part whose id starts with ``prefix`` (one exercise).

    In the static book, a single :class:`StaticNote` naming all the parts.
    """
    parts = [get_part(part_id) for part_id in parts_of(prefix)]
    if not parts:
        raise ValueError(f"no exercise part has an id starting with {prefix!r}")
    if static is None:
        static = is_static_build()
    if static:
        return StaticNote(parts)
    import ipywidgets as widgets

    return widgets.VBox([answer_box(part.id, static=False) for part in parts])


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def main(argv=None):
    """Command-line entry: ``python -m lecture_code.answers PART ANSWER``.

    Returns the exit status: 0 right, 1 wrong or unreadable, 2 usage error.
    """
    parser = argparse.ArgumentParser(
        prog="python -m lecture_code.answers",
        description="Check an answer to an exercise part of the book.")
    parser.epilog = ("positional arguments: PART (an exercise part id, e.g. ex2.1a-var) "
                     "and ANSWER (quoted, e.g. \"-2*laplacian(rho)\")")
    parser.add_argument("--reveal", action="store_true", help="also print a right answer")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--list", action="store_true", help="list the part ids and exit")
    argv = list(sys.argv[1:] if argv is None else argv)
    # An answer may start with '-' ("-2*laplacian(rho)"): only the known
    # options are options, everything else is a positional argument.
    known = {"--reveal", "--json", "--list", "-h", "--help"}
    options = [a for a in argv if a in known]
    positional = [a for a in argv if a not in known and a != "--"]
    if len(positional) > 2:
        parser.print_usage(sys.stderr)
        print("error: give the answer as one argument (quote it)", file=sys.stderr)
        return 2
    args = parser.parse_args(options)
    args.part, args.answer = (positional + [None, None])[:2]
    if args.list:
        for pid in PARTS:
            print(f"{pid}\t{PARTS[pid].asks_for}")
        return 0
    if args.part is None or args.answer is None:
        parser.print_usage(sys.stderr)
        print("error: give a part id and an answer (or --list)", file=sys.stderr)
        return 2
    if args.part not in PARTS:
        print(f"error: unknown part {args.part!r}; run with --list to see the ids",
              file=sys.stderr)
        return 2
    result = check(args.part, args.answer, reveal=args.reveal)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result)
    return 0 if result.correct else 1


if __name__ == "__main__":
    sys.exit(main())
