"""Meaning of a parsed answer: build sympy values from a :class:`Node` tree.

The tree of :mod:`lecture_code.answer_parser` is interpreted in an
*instance*: a choice of what every name stands for. A symbolic instance
uses undefined sympy functions (``rho(x1, x2)``) and matrices of symbols; a
numeric instance uses concrete random smooth functions (``rho = exp(q)``
with ``q`` a random quadratic plus a sine) and random rational matrices,
and replaces each ``integral(h, y)`` over a density ``rho`` by an empirical
measure: :math:`\\int h(y)\\,dy \\approx \\sum_j w_j h(y_j)/\\rho(y_j)`, so
that :math:`\\int \\rho = 1` and the mean and second moment of that measure
are exactly the ``m`` and ``Q`` of the instance.

Only the operations of the allow-list exist here: sums, products, powers
with a plain exponent, transposes, and the named functions of
:data:`lecture_code.answer_parser.BUILTIN_FUNCTIONS`; nothing is evaluated
as Python code. Numbers are read back with :func:`to_floats`, a small
walker over the sympy tree using :mod:`math`, which cannot hang on huge
values (it overflows and reports instead).

Example
-------
>>> from lecture_code.answer_parser import Vocabulary, parse_answer
>>> vocab = Vocabulary(names={"x": "point", "rho": "field"})
>>> inst = Instance(vocab, mode="symbolic", dim=1)
>>> value = evaluate(parse_answer("grad(log(rho))", vocab), inst)
>>> value.kind, value.data[0]
('vector', Derivative(rho(x1), x1)/rho(x1))
"""

import contextvars
import math
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .answer_parser import AnswerNameError, AnswerSyntaxError

__all__ = ["AnswerShapeError", "AnswerUndefinedError", "AnswerTimeLimit", "NotSymbolic",
           "Value", "Instance", "evaluate", "to_floats", "deadline"]


class AnswerShapeError(AnswerSyntaxError):
    """An answer combining scalars, vectors and matrices in a way that has no meaning."""


class AnswerUndefinedError(AnswerSyntaxError):
    """An answer with an undefined piece: a division by zero, log(0), sqrt(-1) ..."""


class AnswerTimeLimit(AnswerSyntaxError):
    """An answer whose evaluation would take longer than the time limit."""


#: Time (``time.perf_counter()``) after which evaluation stops, or None.
_DEADLINE = contextvars.ContextVar("answer_deadline", default=None)


class deadline:
    """Context manager: stop :func:`evaluate` and :func:`to_floats` at a wall-clock time.

    Parameters
    ----------
    when : float or None
        A ``time.perf_counter()`` value; None for no limit.
    """

    def __init__(self, when):
        self.when = when
        self.token = None

    def __enter__(self):
        self.token = _DEADLINE.set(self.when)
        return self

    def __exit__(self, *exc):
        _DEADLINE.reset(self.token)
        return False


def _check_time(node=None, text=""):
    when = _DEADLINE.get()
    if when is not None and time.perf_counter() > when:
        raise AnswerTimeLimit("the answer takes too long to evaluate (the time limit of a "
                              "check was reached); simplify it", None, text)


_BAD = (sp.zoo, sp.nan, sp.oo, -sp.oo)


def _defined(value, node, text, what):
    """Raise AnswerUndefinedError if a value holds zoo, nan, an infinity or i."""
    entries = value.entries() if isinstance(value, Value) else [value]
    for e in entries:
        if isinstance(e, sp.Basic) and (e.has(*_BAD) or e.has(sp.I)):
            imaginary = e.has(sp.I) and not e.has(*_BAD)
            reason = ("an imaginary number (the square root or log of a negative "
                      "number)" if imaginary else "a division by zero or log(0)")
            raise AnswerUndefinedError(
                f"Not right: {what} is undefined: it contains {reason}", node.pos, text)
    return value


class NotSymbolic(Exception):
    """Raised when a construct (``integral``, ``expm``) has no symbolic form here."""


@dataclass
class Value:
    """A scalar (sympy expression), a vector ``(d, 1)``, a row ``(1, d)`` or a matrix."""

    kind: str
    data: object

    def entries(self):
        if self.kind == "scalar":
            return [self.data]
        return list(self.data)


_WORD = {"scalar": "a scalar", "vector": "a vector", "row": "a row vector (a transposed vector)",
         "matrix": "a matrix"}


def _shape_error(reason, node, text):
    return AnswerShapeError(reason, node.pos, text)


def _derivative_family(name, top=8):
    """Undefined functions phi, phi', phi'', ... with the chain rule wired in."""
    classes = []
    for k in range(top + 1):
        classes.append(type(name + "'" * k, (sp.Function,),
                            {"family": name, "order": k}))
    for k in range(top):
        nxt = classes[k + 1]
        classes[k].fdiff = (lambda nxt: lambda self, argindex=1: nxt(self.args[0]))(nxt)
    return classes


def _plain(args, x):
    """True if every argument is a number or a distinct space symbol."""
    seen = set()
    for a in args:
        if a.is_Number:
            continue
        if a in x and a not in seen:
            seen.add(a)
            continue
        return False
    return True


class Instance:
    """What every name of a vocabulary stands for, symbolically or numerically.

    Parameters
    ----------
    vocabulary : Vocabulary
        The names of the exercise part.
    mode : {"symbolic", "numeric", "commuting"}
        ``symbolic``: undefined functions and matrices of symbols;
        ``numeric``: random concrete functions and rational matrices;
        ``commuting``: like ``numeric`` but every matrix diagonal (so all
        matrices commute and equal their transposes).
    dim : int
        Space dimension d.
    seed : int
        Seed of the random choices (numeric modes).
    positive : tuple of str
        Fields that are positive densities.
    density : str or None
        Field that is the density of alpha, used by ``integral``.
    measure : bool
        If True (numeric modes), ``m``, ``Q`` and ``Sigma`` are the mean,
        second moment and covariance of the empirical measure of
        ``integral``; ``m0`` likewise.
    relations : dict
        Field name -> (numerator field, denominator field), for a field
        defined as a ratio (``rho = rho_alpha / rho_nu``).
    """

    def __init__(self, vocabulary, mode="numeric", dim=2, seed=0, positive=(),
                 density=None, measure=False, relations=None):
        if mode not in ("symbolic", "numeric", "commuting"):
            raise ValueError(f"mode must be 'symbolic', 'numeric' or 'commuting', got {mode!r}")
        self.vocab = vocabulary
        self.mode = mode
        self.dim = dim
        self.rng = np.random.default_rng(seed)
        self.x = sp.Matrix(sp.symbols(f"x1:{dim + 1}", real=True))
        self.values = {}
        self.concrete = {}
        self.concrete_functions = {}
        self._jets = {}
        self.fields = {}
        self.functions = {}
        self.kernels = {}
        self.density = density
        self.nodes = None
        self.weights = None
        relations = relations or {}
        for name, kind in vocabulary.names.items():
            if kind == "field" and name not in relations:
                self.fields[name] = self._field(name, name in positive)
        for name, (top, bottom) in relations.items():
            f, g = self.fields[top], self.fields[bottom]
            self.fields[name] = (lambda f, g: lambda p: f(p) / g(p))(f, g)
        for name, kind in vocabulary.functions.items():
            if kind == "function":
                self.functions[name] = self._function(name)
            elif kind == "kernel":
                self.kernels[name] = self._kernel(name)
            elif kind == "field":
                self.fields[name] = self._field(name, name in positive)
        if mode != "symbolic" and density is not None:
            n = dim + 2
            self.nodes = [sp.Matrix([self._rational(-1, 1) for _ in range(dim)])
                          for _ in range(n)]
            raw = [Fraction(int(v), 16) for v in self.rng.integers(4, 16, size=n)]
            total = sum(raw)
            self.weights = [sp.Rational(w.numerator, w.denominator) / sp.Rational(
                total.numerator, total.denominator) for w in raw]
        for name, kind in vocabulary.names.items():
            if kind in ("scalar", "vector", "matrix", "symmetric", "identity"):
                self.values[name] = self._constant(name, kind)
        if measure and mode != "commuting":
            self._tie_to_measure()

    # -- random and symbolic ingredients ---------------------------------
    def _rational(self, low, high, den=8):
        k = int(self.rng.integers(int(low * den), int(high * den) + 1))
        return sp.Rational(k, den)

    def _field(self, name, positive):
        f = sp.Function(name, positive=True) if positive else sp.Function(name, real=True)
        if self.mode == "symbolic":
            return lambda p: f(*list(p))
        d = self.dim
        b = [self._rational(-1, 1) for _ in range(d)]
        w = [self._rational(-1, 1) for _ in range(d)]
        diag = [self._rational(1, 2, 4) for _ in range(d)]
        a = self._rational(0.25, 0.75, 8)
        c0 = self._rational(-0.5, 0.5)
        slots = sp.symbols(f"p1:{d + 1}", real=True)
        q = c0 + sum(b[i] * slots[i] - diag[i] * slots[i] ** 2 / 2 for i in range(d))
        q += a * sp.sin(sum(w[i] * slots[i] for i in range(d)) + 1)
        expr = sp.exp(q) if positive else q + a * sp.cos(slots[0] - slots[-1])
        self.concrete[f] = (slots, expr)

        def field(p):
            p = list(p)
            if _plain(p, self.x):
                return f(*p)
            return expr.xreplace(dict(zip(slots, p)))
        return field

    def _function(self, name):
        family = _derivative_family(name)
        if self.mode != "symbolic":
            s = sp.Symbol("s", positive=True)
            a, b, c, e = (self._rational(0.25, 1.5) for _ in range(4))
            base = a * s * sp.log(s) + b * s ** 2 + c * sp.exp(-s) + e * s ** 3 / 6
            derivs = [base]
            for _ in range(len(family) - 1):
                derivs.append(sp.diff(derivs[-1], s))
            self.concrete_functions[name] = ((s,), derivs)
        return lambda order, arg: family[order](arg)

    def _kernel(self, name):
        k = sp.Function(name, real=True)
        if self.mode == "symbolic":
            return lambda p, q: k(*(list(p) + list(q)))
        d = self.dim
        C = [[self._rational(-1, 1) for _ in range(d)] for _ in range(d)]
        c = [self._rational(-1, 1) for _ in range(d)]
        slots = sp.symbols(f"p1:{2 * d + 1}", real=True)
        p, q = slots[:d], slots[d:]
        bilinear = sum(C[i][j] * p[i] * q[j] for i in range(d) for j in range(d))
        dist2 = sum((p[i] - q[i]) ** 2 for i in range(d))
        expr = sp.exp(-dist2 / 2) * (1 + sum(c[i] * p[i] for i in range(d)) / 2) \
            + sp.sin(bilinear)
        self.concrete[k] = (slots, expr)

        def kernel(p1, p2):
            args = list(p1) + list(p2)
            if _plain(args, self.x):
                return k(*args)
            return expr.xreplace(dict(zip(slots, args)))
        return kernel

    def jet(self, func, counts):
        """Concrete derivative of a field or kernel: counts[i] derivatives in slot i."""
        key = (func, tuple(counts))
        hit = self._jets.get(key)
        if hit is not None:
            return hit
        _check_time()
        slots, expr = self.concrete[func]
        if not any(counts):
            out = expr
        else:
            i = max(j for j, n in enumerate(counts) if n)
            lower = list(counts)
            lower[i] -= 1
            out = sp.diff(self.jet(func, lower), slots[i])
        self._jets[key] = out
        return out

    def _constant(self, name, kind):
        d = self.dim
        if kind == "identity":
            return Value("matrix", sp.eye(d))
        if self.mode == "symbolic":
            if kind == "scalar":
                return Value("scalar", sp.Symbol(name, positive=True))
            if kind == "vector":
                return Value("vector", sp.Matrix(sp.symbols(f"{name}_1:{d + 1}", real=True)))
            entries = {}
            for i in range(d):
                for j in range(d):
                    if kind == "symmetric" and j < i:
                        entries[i, j] = entries[j, i]
                    else:
                        entries[i, j] = sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True)
            return Value("matrix", sp.Matrix(d, d, lambda i, j: entries[i, j]))
        if kind == "scalar":
            return Value("scalar", self._rational(0.25, 1.5))
        if kind == "vector":
            return Value("vector", sp.Matrix([self._rational(-1, 1) for _ in range(d)]))
        if self.mode == "commuting":
            diag = [self._rational(0.25, 1.5) * (1 if self.rng.random() < 0.7 else -1)
                    for _ in range(d)]
            return Value("matrix", sp.diag(*diag))
        if kind == "symmetric":
            L = sp.Matrix(d, d, lambda i, j: self._rational(-1, 1))
            return Value("matrix", L * L.T + sp.eye(d) / 2)
        return Value("matrix", sp.Matrix(d, d, lambda i, j: self._rational(-1, 1)))

    def _tie_to_measure(self):
        """Make m, m0, Q and Sigma the moments of the empirical measure."""
        names = self.vocab.names
        if self.mode == "symbolic":
            if "Q" in names and "Sigma" in names and "m" in names:
                m = self.values["m"].data
                self.values["Q"] = Value("matrix", self.values["Sigma"].data + m * m.T)
            return
        if self.nodes is None:
            return
        mean = sp.zeros(self.dim, 1)
        second = sp.zeros(self.dim, self.dim)
        for w, y in zip(self.weights, self.nodes):
            mean += w * y
            second += w * y * y.T
        for name in ("m", "m0"):
            if name in names:
                self.values[name] = Value("vector", mean)
        if "Q" in names:
            self.values["Q"] = Value("matrix", second)
        if "Sigma" in names:
            self.values["Sigma"] = Value("matrix", second - mean * mean.T)

    # -- the meaning of integral(h, y) ------------------------------------
    def integrate(self, body):
        """``body(point)`` -> Value; returns the empirical integral over y."""
        if self.mode == "symbolic" or self.nodes is None:
            raise NotSymbolic("integral")
        dens = self.fields[self.density]
        total = None
        for w, y in zip(self.weights, self.nodes):
            v = body(y)
            factor = w / dens(y)
            term = Value(v.kind, v.data * factor)
            total = term if total is None else Value(v.kind, total.data + term.data)
        return total


# --------------------------------------------------------------------------
# The interpreter
# --------------------------------------------------------------------------

def evaluate(node, instance, text="", bound=None):
    """Interpret a parsed answer in an instance.

    Names take their values in the instance; the operators act on the space
    variable :math:`x=(x_1,\\dots,x_d)`, and an integral over the density
    :math:`\\rho` of :math:`\\alpha` is a sum over the instance's discrete
    measure :math:`\\sum_j w_j\\delta_{y_j}`:

    .. math::

        \\operatorname{grad} f = (\\partial_{x_i} f)_i,\\quad
        \\operatorname{div} v = \\sum_i \\partial_{x_i} v_i,\\quad
        \\operatorname{laplacian} f = \\sum_i \\partial_{x_i}^2 f,\\quad
        \\operatorname{integral}(h, y) = \\sum_j w_j\\, \\frac{h(y_j)}{\\rho(y_j)}.

    Parameters
    ----------
    node : Node
        Root of a tree from :func:`lecture_code.answer_parser.parse_answer`.
    instance : Instance
        What each name stands for.
    text : str
        The answer as typed, for error messages.
    bound : dict or None
        Values of integration variables (internal).

    Returns
    -------
    Value

    Raises
    ------
    AnswerShapeError
        If scalars, vectors and matrices are combined without meaning
        (``rho + x``, ``grad(x)``, a product of two vectors ...).
    NotSymbolic
        In a symbolic instance, for ``integral`` and ``expm``.
    """
    bound = bound or {}
    _check_time(node, text)
    ev = lambda n: evaluate(n, instance, text, bound)  # noqa: E731
    k = node.kind
    if k == "num":
        return Value("scalar", sp.Rational(node.value.numerator, node.value.denominator))
    if k == "name":
        return _name(node, instance, text, bound)
    if k == "neg":
        v = ev(node.args[0])
        return Value(v.kind, -v.data)
    if k == "transpose":
        v = ev(node.args[0])
        flip = {"vector": "row", "row": "vector", "matrix": "matrix", "scalar": "scalar"}
        return Value(flip[v.kind], v.data if v.kind == "scalar" else v.data.T)
    if k == "call":
        return _call(node, instance, text, bound)
    if k == "pow":
        base = ev(node.args[0])
        q = node.args[1].value
        if base.kind == "scalar":
            return _defined(Value("scalar", base.data ** sp.Rational(q.numerator,
                                                                      q.denominator)),
                            node, text, "a power")
        if base.kind == "matrix" and q.denominator == 1 and 1 <= q <= 4:
            out = base.data
            for _ in range(int(q) - 1):
                out = out * base.data
            return Value("matrix", out)
        raise _shape_error(f"only scalars, and matrices to a power 1 to 4, can be raised "
                           f"to a power; this is {_WORD[base.kind]}", node, text)
    a = ev(node.args[0])
    b = ev(node.args[1])
    if k in ("add", "sub"):
        if a.kind != b.kind:
            raise _shape_error(f"cannot add {_WORD[a.kind]} and {_WORD[b.kind]}"
                               + (" (write c*I for a multiple of the identity)"
                                  if "matrix" in (a.kind, b.kind) and "scalar" in (a.kind, b.kind)
                                  else ""), node, text)
        return Value(a.kind, a.data + b.data if k == "add" else a.data - b.data)
    if k == "div":
        if b.kind != "scalar":
            raise _shape_error(f"cannot divide by {_WORD[b.kind]}", node, text)
        if b.data == 0:
            raise AnswerUndefinedError("Not right: the answer divides by zero", node.pos,
                                       text)
        return _defined(Value(a.kind, a.data / b.data), node, text, "a quotient")
    return _product(a, b, node, text)


def _product(a, b, node, text):
    if a.kind == "scalar" or b.kind == "scalar":
        kind = b.kind if a.kind == "scalar" else a.kind
        return Value(kind, a.data * b.data)
    table = {("matrix", "matrix"): "matrix", ("matrix", "vector"): "vector",
             ("row", "matrix"): "row", ("row", "vector"): "scalar",
             ("vector", "row"): "matrix"}
    kind = table.get((a.kind, b.kind))
    if kind is None:
        hint = " (use dot(u, v) for a scalar product)" if a.kind == b.kind == "vector" else ""
        raise _shape_error(f"cannot multiply {_WORD[a.kind]} by {_WORD[b.kind]}{hint}",
                           node, text)
    out = a.data * b.data
    if kind == "scalar":
        out = out[0, 0]
    return Value(kind, out)


def _name(node, inst, text, bound):
    name = node.value
    kind = inst.vocab.names[name]
    if kind == "point":
        return Value("vector", inst.x)
    if kind == "dummy":
        if name not in bound:
            raise AnswerNameError(f"{name} may only appear inside integral(..., {name})",
                                  node.pos, text)
        return Value("vector", bound[name])
    if kind == "field":
        return Value("scalar", inst.fields[name](inst.x))
    return inst.values[name]


def _scalar_arg(value, fname, node, text):
    if value.kind != "scalar":
        raise _shape_error(f"{fname} needs a scalar argument, got {_WORD[value.kind]}",
                           node, text)
    return value.data


def _diff(expr, var, node, text):
    """sympy derivative, after a look at the clock (derivatives are the costly step)."""
    _check_time(node, text)
    return sp.diff(expr, var)


def _call(node, inst, text, bound):
    fname = node.value
    if fname == "integral":
        dummy = node.args[1].value

        def body(point):
            inner = dict(bound)
            inner[dummy] = point
            return evaluate(node.args[0], inst, text, inner)
        return inst.integrate(body)
    args = [evaluate(a, inst, text, bound) for a in node.args]
    x = inst.x
    if fname in inst.fields:
        if args[0].kind != "vector":
            raise _shape_error(f"{fname} is a field: its argument must be a point of R^d, "
                               f"got {_WORD[args[0].kind]}", node, text)
        return Value("scalar", inst.fields[fname](args[0].data))
    if fname in inst.functions:
        s = _scalar_arg(args[0], fname, node, text)
        return Value("scalar", inst.functions[fname](node.order, s))
    if fname in inst.kernels:
        if args[0].kind != "vector" or args[1].kind != "vector":
            raise _shape_error(f"{fname} takes two points of R^d", node, text)
        return Value("scalar", inst.kernels[fname](args[0].data, args[1].data))
    if fname == "grad":
        s = _scalar_arg(args[0], "grad", node, text)
        return Value("vector", sp.Matrix([_diff(s, xi, node, text) for xi in x]))
    if fname == "laplacian":
        s = _scalar_arg(args[0], "laplacian", node, text)
        return Value("scalar", sum((_diff(_diff(s, xi, node, text), xi, node, text)
                                    for xi in x), sp.Integer(0)))
    if fname == "div":
        v = args[0]
        if v.kind != "vector":
            raise _shape_error(f"div needs a vector field, got {_WORD[v.kind]}", node, text)
        return Value("scalar", sum((_diff(v.data[i], x[i], node, text)
                                    for i in range(len(x))), sp.Integer(0)))
    if fname == "dot":
        u, v = args
        if u.kind not in ("vector", "row") or v.kind not in ("vector", "row"):
            raise _shape_error("dot needs two vectors", node, text)
        return Value("scalar", sum((p * q for p, q in zip(u.data, v.data)), sp.Integer(0)))
    if fname in ("norm", "abs"):
        v = args[0]
        if v.kind == "scalar":
            return Value("scalar", sp.Abs(v.data))
        if v.kind in ("vector", "row"):
            return Value("scalar", sp.sqrt(sum((p ** 2 for p in v.data), sp.Integer(0))))
        raise _shape_error(f"{fname} needs a scalar or a vector", node, text)
    if fname in ("log", "exp", "sqrt"):
        s = _scalar_arg(args[0], fname, node, text)
        out = {"log": sp.log, "exp": sp.exp, "sqrt": sp.sqrt}[fname](s)
        return _defined(Value("scalar", out), node, text, f"{fname}(...)")
    if fname == "transpose":
        v = args[0]
        flip = {"vector": "row", "row": "vector", "matrix": "matrix", "scalar": "scalar"}
        return Value(flip[v.kind], v.data if v.kind == "scalar" else v.data.T)
    if fname == "expm":
        v = args[0]
        if v.kind != "matrix":
            raise _shape_error(f"expm needs a matrix, got {_WORD[v.kind]}", node, text)
        if inst.mode == "symbolic":
            raise NotSymbolic("expm")
        if v.data.free_symbols:
            raise _shape_error("expm of a matrix that depends on x is not supported",
                               node, text)
        from scipy.linalg import expm
        _defined(v, node, text, "the argument of expm")
        try:
            numbers = np.array([[_fnum(e, {}, {}, inst) for e in row]
                                for row in v.data.tolist()], dtype=float)
        except AnswerTimeLimit:
            raise
        except (_Undefined, ValueError, OverflowError, ZeroDivisionError, TypeError):
            raise AnswerUndefinedError("Not right: the argument of expm is undefined or "
                                       "too large", node.pos, text) from None
        if float(np.max(np.abs(numbers), initial=0.0)) > 700.0:
            raise AnswerUndefinedError("Not right: the argument of expm is too large "
                                       "(its exponential overflows)", node.pos, text)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # a bounded but large argument may overflow (LinAlgWarning is a
            # RuntimeWarning); the result is checked just below.
            warnings.simplefilter("ignore", category=RuntimeWarning)
            out = expm(numbers)
        if not np.all(np.isfinite(out)):
            raise AnswerUndefinedError("Not right: the exponential of this matrix overflows",
                                       node.pos, text)
        return Value("matrix", sp.Matrix(out.tolist()))
    raise AnswerShapeError(f"the function {fname} is not available here", node.pos, text)


# --------------------------------------------------------------------------
# Numbers out of sympy trees, without evalf
# --------------------------------------------------------------------------

class _Undefined(Exception):
    pass


def _fnum(e, env, memo, inst):
    hit = memo.get(e)
    if hit is not None:
        return hit
    if len(memo) % 256 == 255:
        _check_time()
    rec = lambda a: _fnum(a, env, memo, inst)  # noqa: E731
    if e.is_Number or e.is_NumberSymbol:
        try:
            out = float(e)
        except TypeError:  # zoo, or a complex number
            raise _Undefined(str(e)) from None
    elif e.is_Symbol:
        out = env[e]
    elif isinstance(e, sp.Add):
        out = math.fsum(rec(a) for a in e.args)
    elif isinstance(e, sp.Mul):
        out = 1.0
        for a in e.args:
            out *= rec(a)
    elif isinstance(e, sp.Pow):
        out = math.pow(rec(e.args[0]), rec(e.args[1]))
    elif isinstance(e, sp.exp):
        out = math.exp(rec(e.args[0]))
    elif isinstance(e, sp.log):
        out = math.log(rec(e.args[0]))
    elif isinstance(e, sp.Abs):
        out = abs(rec(e.args[0]))
    elif isinstance(e, sp.sin):
        out = math.sin(rec(e.args[0]))
    elif isinstance(e, sp.cos):
        out = math.cos(rec(e.args[0]))
    elif isinstance(e, AppliedUndef) or (isinstance(e, sp.Function)
                                         and getattr(e.func, "family", None)):
        out = _undefined_value(e, (), rec, memo, inst)
    elif isinstance(e, sp.Derivative) and isinstance(e.expr, AppliedUndef):
        out = _undefined_value(e.expr, e.variable_count, rec, memo, inst)
    else:
        raise _Undefined(type(e).__name__)
    if not math.isfinite(out):
        raise _Undefined("overflow")
    memo[e] = out
    return out


def _undefined_value(app, variable_count, rec, memo, inst):
    """Value of f(args) or of its derivative from the concrete test function."""
    func = app.func
    family = getattr(func, "family", None)
    if family is not None:
        if variable_count:
            raise _Undefined("derivative of a scalar function")
        (s,), derivs = inst.concrete_functions[family]
        arg = rec(app.args[0])
        return _fnum(derivs[func.order], {s: arg}, {}, inst)
    if func not in inst.concrete:
        raise _Undefined(str(func))
    slots, _ = inst.concrete[func]
    counts = [0] * len(slots)
    for var, n in variable_count:
        where = [i for i, a in enumerate(app.args) if a == var]
        if len(where) != 1:
            raise _Undefined("derivative in a composite argument")
        counts[where[0]] += int(n)
    expr = inst.jet(func, counts)
    env = {slot: rec(a) for slot, a in zip(slots, app.args)}
    return _fnum(expr, env, {}, inst)


def to_floats(value, instance, points):
    """Values of a Value at points, flattened to one float array.

    .. math::

        v \\mapsto \\big(v_k(p)\\big)_{p \\in \\text{points},\\ k \\in \\text{entries}}

    Undefined functions of a numeric instance (``rho(x1, x2)`` and its
    derivatives, ``phi'(...)``, ``k(...)``) take the values of the
    instance's concrete test functions.

    Parameters
    ----------
    value : Value
        Result of :func:`evaluate` in a numeric instance.
    instance : Instance
        The instance it was evaluated in.
    points : array of shape (p, d)
        Where to evaluate.

    Returns
    -------
    numpy.ndarray of shape (p * n_entries,)
        NaN where the expression is undefined (log or square root of a
        negative number, division by zero, overflow).
    """
    entries = value.entries()
    out = []
    for pt in points:
        env = {xi: float(v) for xi, v in zip(instance.x, pt)}
        memo = {}
        for e in entries:
            _check_time()
            try:
                out.append(_fnum(e, env, memo, instance))
            except AnswerTimeLimit:
                raise
            except (_Undefined, ValueError, OverflowError, ZeroDivisionError, KeyError,
                    TypeError, RecursionError):
                out.append(float("nan"))
    return np.array(out, dtype=float)
