"""Safe parsing of typed answers into a small expression tree.

A student's answer is text; this module turns it into a tree of
:class:`Node` objects without ever running it as code. Nothing here calls
``eval``, ``exec``, ``compile`` (other than through ``ast.parse``, which only
builds a syntax tree), ``sympify`` or ``parse_expr``.

The text goes through four gates, each of which refuses with an
:class:`AnswerSyntaxError` that names the offending piece and its position:

1. **size and characters**: at most :data:`MAX_LENGTH` characters; plain
   ASCII letters, digits, spaces and ``+ - * / ^ ( ) , . @ '``. A short,
   explicit table turns a few typographic characters into ASCII (the minus
   sign ``−``, ``×``, ``·``, the prime ``′``, ``ρ``, ``φ``, ``τ``, ``Σ``,
   ``²``); every other non-ASCII character, including look-alikes such as
   fullwidth letters, Greek capitals that resemble Latin ones, Cyrillic
   letters and invisible zero-width characters, is refused by name.
2. **tokens**: names, numbers, operators and primes. Names containing a
   double underscore and Python keywords (``lambda``, ``import``, ``for``
   ...) are refused; numbers are limited in size; a prime must follow a
   function name directly (``phi'(rho)``), which is how derivatives of
   scalar functions are written; a missing ``*`` (``2x``) is reported.
   Parentheses are counted before anything else is parsed and may nest at
   most :data:`MAX_DEPTH` deep.
3. **syntax**: the cleaned text (``^`` rewritten to ``**``, primes to an
   internal name no user can type) goes to ``ast.parse(..., mode="eval")``.
4. **allow-list walk**: the syntax tree may contain only numbers, known
   names, calls of known functions with positional arguments, the
   operators ``+ - * / ** @``, unary ``+``/``-``, and the attribute ``.T``
   (transpose). Exponents must be plain small numbers; the size of the
   expression once expanded is bounded before any algebra is done
   (integrals count as sums over :data:`INTEGRAL_NODES` nodes and nest at
   most :data:`MAX_INTEGRAL_NESTING` deep), and a division by a literal
   zero is refused.

Example
-------
>>> vocab = Vocabulary(names={"rho": "field", "x": "point"},
...                    functions={"phi": "function"})
>>> tree = parse_answer("phi'(rho) + x^2", vocab)
>>> tree.kind, tree.args[0].kind, tree.args[0].value, tree.args[0].order
('add', 'call', 'phi', 1)
"""

import ast
import keyword
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "AnswerSyntaxError",
    "AnswerNameError",
    "Node",
    "Vocabulary",
    "BUILTIN_FUNCTIONS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_INTEGRAL_NESTING",
    "parse_answer",
    "tree_names",
    "unparse",
]

#: Longest accepted answer, in characters.
MAX_LENGTH = 600
#: Deepest accepted nesting of parentheses.
MAX_DEPTH = 12
#: Most nodes accepted in the syntax tree.
MAX_NODES = 300
#: Deepest accepted syntax tree (operator chains count).
MAX_TREE_DEPTH = 60
#: Largest absolute value of an exponent.
MAX_EXPONENT = 10
#: Largest denominator of a fractional exponent.
MAX_EXPONENT_DENOMINATOR = 4
#: Largest absolute value of a number literal.
MAX_LITERAL = 10**12
#: Largest estimated number of terms once the answer is expanded.
MAX_TERMS = 10000
#: Largest estimated polynomial degree.
MAX_DEGREE = 40
#: Largest number of decimal digits a constant may reach.
MAX_DIGITS = 300
#: Deepest nesting of differential operators (laplacian counts twice).
MAX_DERIVATIVE_ORDER = 4
#: Deepest nesting of exp calls.
MAX_EXP_NESTING = 1
#: Deepest nesting of integral calls (each level multiplies the work by the
#: number of nodes of the discrete measure).
MAX_INTEGRAL_NESTING = 2
#: Nodes of the discrete measure an integral is evaluated on (an upper bound).
INTEGRAL_NODES = 5

# Functions every part may use, with their number of arguments and a short
# description for help texts. The vector calculus operators act on x.
BUILTIN_FUNCTIONS = {
    "grad": (1, "gradient in x of a scalar field"),
    "div": (1, "divergence in x of a vector field"),
    "laplacian": (1, "Laplacian in x of a scalar field"),
    "dot": (2, "scalar product of two vectors"),
    "norm": (1, "Euclidean norm of a vector"),
    "abs": (1, "absolute value of a scalar (norm of a vector)"),
    "log": (1, "natural logarithm"),
    "exp": (1, "exponential"),
    "sqrt": (1, "square root"),
    "transpose": (1, "transpose of a matrix or vector (also written M.T)"),
    "expm": (1, "matrix exponential"),
    "integral": (2, "integral(h, y): the integral of h over y in R^d"),
}
# Spellings that mean the same function (sympy prints Abs, the notes write Delta).
FUNCTION_ALIASES = {"Abs": "abs", "Delta": "laplacian", "lap": "laplacian",
                    "nabla": "grad"}
DIFFERENTIAL_ORDER = {"grad": 1, "div": 1, "laplacian": 2}

# Typographic characters turned into ASCII, explicitly (anything else that is
# not ASCII is refused).
_UNICODE_TO_ASCII = {
    "\u2212": "-",  # MINUS SIGN
    "\u00d7": "*",  # MULTIPLICATION SIGN
    "\u00b7": "*",  # MIDDLE DOT
    "\u22c5": "*",  # DOT OPERATOR
    "\u2032": "'",  # PRIME
    "\u2033": "''",  # DOUBLE PRIME
    "\u00b2": "^2",  # SUPERSCRIPT TWO
    "\u03c1": "rho",  # GREEK SMALL LETTER RHO
    "\u03c6": "phi",  # GREEK SMALL LETTER PHI
    "\u03d5": "phi",  # GREEK PHI SYMBOL
    "\u03c4": "tau",  # GREEK SMALL LETTER TAU
    "\u03a3": "Sigma",  # GREEK CAPITAL LETTER SIGMA
}
_ALLOWED_ASCII = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " \t\n+-*/^(),.@'_"
)
_ASCII_HINTS = {
    '"': "strings are not allowed",
    "[": "indexing and lists are not allowed",
    "]": "indexing and lists are not allowed",
    "{": "sets and dictionaries are not allowed",
    "}": "sets and dictionaries are not allowed",
    ":": "slices, lambdas and assignments are not allowed",
    "=": "give only the expression, not an equation or an assignment",
    "|": "write norm(v) for the norm of a vector and abs(s) for a scalar",
    ";": "give a single expression",
    "#": "comments are not allowed",
    "\\": "type plain text, not LaTeX",
    "%": "the modulo operator is not allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "write the expression without '!'",
    "~": "the operator '~' is not allowed",
    "&": "the operator '&' is not allowed",
    "$": "type plain text, not LaTeX",
    "`": "backquotes are not allowed",
    "?": "the character '?' is not allowed",
}
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PRIME_TAG = "__d"


class AnswerSyntaxError(ValueError):
    """An answer that cannot be read or is refused.

    Attributes
    ----------
    reason : str
        What is wrong, in plain words.
    position : int or None
        0-based index in the text as typed of the offending piece.
    text : str
        The answer as typed (possibly shortened for the message).
    """

    def __init__(self, reason, position=None, text=""):
        self.reason = reason
        self.position = position
        self.text = text
        super().__init__(self._message())

    def _message(self):
        if self.position is None:
            return self.reason
        shown = self.text.replace("\n", " ").replace("\t", " ")
        start = max(0, self.position - 40)
        snippet = shown[start:start + 80]
        if not snippet.isascii():
            # Keep the caret line aligned and the message plain.
            snippet = "".join(c if c.isascii() else "?" for c in snippet)
        caret = " " * (self.position - start) + "^"
        return (f"{self.reason} (at position {self.position})\n"
                f"    {snippet}\n    {caret}")


class AnswerNameError(AnswerSyntaxError):
    """An answer using a name that the exercise part does not define."""


@dataclass(frozen=True)
class Node:
    """One node of a parsed answer.

    ``kind`` is one of ``num`` (``value`` a :class:`fractions.Fraction`),
    ``name`` (``value`` the name), ``call`` (``value`` the function name,
    ``order`` the number of primes, ``args`` the arguments), ``add``,
    ``sub``, ``mul``, ``matmul``, ``div``, ``pow``, ``neg``, ``transpose``.
    ``pos`` is the position in the text as typed.
    """

    kind: str
    value: object = None
    args: tuple = ()
    pos: int = 0
    order: int = 0


@dataclass(frozen=True)
class Vocabulary:
    """The names an exercise part allows.

    Parameters
    ----------
    names : dict
        Variable name -> kind, where kind is ``scalar`` (a number such as
        ``tau``), ``vector``, ``matrix``, ``symmetric`` (a symmetric
        matrix), ``identity``, ``point`` (the space variable ``x``),
        ``dummy`` (an integration variable ``y``) or ``field`` (a scalar
        field such as ``rho``; the bare name means its value at ``x``).
    functions : dict
        Function name -> kind: ``function`` (a scalar function of one
        variable, which may carry primes: ``phi'(s)``), ``field`` (a field
        evaluated at a point, ``rho(y)``) or ``kernel`` (a function of two
        points, ``k(x, y)``).
    builtins : tuple of str or None
        Which of :data:`BUILTIN_FUNCTIONS` are allowed (all by default).
    """

    names: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)
    builtins: tuple = None

    def allowed_builtins(self):
        if self.builtins is None:
            return tuple(BUILTIN_FUNCTIONS)
        return tuple(self.builtins)

    def describe(self):
        """A one-line list of the allowed names, for messages."""
        fields = [n for n, k in self.names.items() if k == "field"]
        variables = [n for n, k in self.names.items() if k != "field"]
        parts = []
        if variables:
            parts.append("variables " + ", ".join(variables))
        if fields:
            parts.append("fields " + ", ".join(fields))
        if self.functions:
            parts.append("functions " + ", ".join(
                f"{f}(...)" for f in self.functions))
        parts.append("operators " + ", ".join(self.allowed_builtins()))
        return "; ".join(parts)


# --------------------------------------------------------------------------
# Gate 1: size and characters
# --------------------------------------------------------------------------

def _normalise(text):
    """Map the explicit typographic characters to ASCII, refuse the others.

    Returns the ASCII text and, for each of its characters, the position of
    the character it came from in ``text``.
    """
    out = []
    origin = []
    for i, c in enumerate(text):
        if c.isascii():
            if c not in _ALLOWED_ASCII:
                hint = _ASCII_HINTS.get(c, "it is not part of the answer syntax")
                if c == "'" or c == '"':
                    hint = "strings are not allowed"
                raise AnswerSyntaxError(
                    f"the character {c!r} is not allowed: {hint}", i, text)
            out.append(c)
            origin.append(i)
            continue
        if c in _UNICODE_TO_ASCII:
            for r in _UNICODE_TO_ASCII[c]:
                out.append(r)
                origin.append(i)
            continue
        name = unicodedata.name(c, "unnamed character")
        code = f"U+{ord(c):04X}"
        if unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn"):
            raise AnswerSyntaxError(
                f"invisible or spacing character {code} ({name}) is not allowed: "
                "retype the answer in plain ASCII", i, text)
        look = unicodedata.normalize("NFKC", c)
        like = f", it looks like {look!r}" if look.isascii() and look != c else ""
        raise AnswerSyntaxError(
            f"the character {c!r} ({code} {name}) is not allowed{like}: "
            "type answers in plain ASCII (rho, phi, tau, Sigma ...)", i, text)
    return "".join(out), origin


# --------------------------------------------------------------------------
# Gate 2: tokens
# --------------------------------------------------------------------------

@dataclass
class _Token:
    kind: str  # name, number, op, prime
    text: str
    pos: int  # position in the normalised text
    end: int


def _tokenize(ascii_text, origin, text):
    def where(p):
        return origin[p] if p < len(origin) else len(text)

    tokens = []
    i = 0
    n = len(ascii_text)
    depth = 0
    opened = []
    while i < n:
        c = ascii_text[i]
        if c in " \t\n":
            i += 1
            continue
        if c.isalpha() or c == "_":
            m = _NAME_RE.match(ascii_text, i)
            word = m.group()
            if "__" in word:
                raise AnswerSyntaxError(
                    f"the name {word!r} is not allowed: names with a double "
                    "underscore are refused", where(i), text)
            if keyword.iskeyword(word) or keyword.issoftkeyword(word):
                raise AnswerSyntaxError(
                    f"the Python keyword {word!r} is not allowed in an answer",
                    where(i), text)
            if len(word) > 30:
                raise AnswerSyntaxError(
                    f"the name starting {word[:12]!r} is too long (more than 30 "
                    "characters)", where(i), text)
            tokens.append(_Token("name", word, i, m.end()))
            i = m.end()
            continue
        if c.isdigit() or (c == "." and i + 1 < n and ascii_text[i + 1].isdigit()):
            m = _NUMBER_RE.match(ascii_text, i)
            literal = m.group()
            if len(literal) > 20:
                raise AnswerSyntaxError(
                    f"the number {literal[:12]}... is too long (more than 20 "
                    "characters)", where(i), text)
            if m.group(2) and abs(int(m.group(2)[1:])) > 12:
                raise AnswerSyntaxError(
                    f"the number {literal} is out of range: use exponents "
                    "between e-12 and e12", where(i), text)
            if abs(Fraction(literal)) > MAX_LITERAL:
                raise AnswerSyntaxError(
                    f"the number {literal} is too large (the limit is 1e12)",
                    where(i), text)
            tokens.append(_Token("number", literal, i, m.end()))
            i = m.end()
            continue
        if c == "'":
            j = i
            while j < n and ascii_text[j] == "'":
                j += 1
            prev = tokens[-1] if tokens else None
            if prev is None or prev.kind != "name" or prev.end != i:
                raise AnswerSyntaxError(
                    "a prime ' must follow a function name directly, as in "
                    "phi'(rho); strings are not allowed", where(i), text)
            if j - i > 3:
                raise AnswerSyntaxError(
                    "at most three primes are allowed (phi''')", where(i), text)
            tokens.append(_Token("prime", ascii_text[i:j], i, j))
            i = j
            continue
        if ascii_text.startswith("**", i):
            tokens.append(_Token("op", "**", i, i + 2))
            i += 2
            continue
        if c == "(":
            depth += 1
            opened.append(i)
            if depth > MAX_DEPTH:
                raise AnswerSyntaxError(
                    f"parentheses nest more than {MAX_DEPTH} levels deep",
                    where(i), text)
        elif c == ")":
            if depth == 0:
                raise AnswerSyntaxError("this ')' has no matching '('",
                                        where(i), text)
            depth -= 1
            opened.pop()
        tokens.append(_Token("op", c, i, i + 1))
        i += 1
    if depth:
        raise AnswerSyntaxError("this '(' is never closed", where(opened[-1]), text)
    if not tokens:
        raise AnswerSyntaxError("the answer is empty", None, text)
    _check_neighbours(tokens, where, text)
    return tokens


def _check_neighbours(tokens, where, text):
    """Report missing operators, empty parentheses and misplaced primes."""
    for a, b in zip(tokens, tokens[1:]):
        a_value = a.kind in ("name", "number", "prime") or a.text == ")"
        b_value = b.kind in ("name", "number") or b.text == "("
        if a.text == "(" and b.text == ")":
            raise AnswerSyntaxError("empty parentheses '()' are not allowed",
                                    where(a.pos), text)
        if a.kind == "prime" and b.text != "(":
            raise AnswerSyntaxError(
                "a derivative written with primes must be applied, as in "
                "phi'(rho)", where(a.pos), text)
        if a.text == "." and not (b.kind == "name"):
            raise AnswerSyntaxError("'.' may only be followed by T (transpose)",
                                    where(a.pos), text)
        if a_value and b_value:
            if a.kind in ("name", "prime") and b.text == "(":
                continue  # a function call
            raise AnswerSyntaxError(
                f"missing operator between {a.text!r} and {b.text!r} "
                "(write * for a product)", where(b.pos), text)
    if tokens[-1].kind == "prime":
        raise AnswerSyntaxError("a derivative written with primes must be "
                                "applied, as in phi'(rho)", where(tokens[-1].pos), text)


def _rewrite(tokens):
    """Python source for ``ast.parse`` and the map from its offsets to tokens."""
    pieces = []
    starts = []  # (offset in source, token)
    offset = 0
    for k, tok in enumerate(tokens):
        if tok.kind == "prime":
            piece = f"{_PRIME_TAG}{len(tok.text)}"
        elif tok.text == "^":
            piece = "**"
        else:
            piece = tok.text
        if k and tok.kind != "prime":
            pieces.append(" ")
            offset += 1
        starts.append((offset, tok))
        pieces.append(piece)
        offset += len(piece)
    return "".join(pieces), starts


# --------------------------------------------------------------------------
# Gates 3 and 4: syntax and allow-list walk
# --------------------------------------------------------------------------

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
           ast.Pow: "pow", ast.MatMult: "matmul"}
_NODE_WORDS = {
    "Lambda": "a lambda", "ListComp": "a list comprehension",
    "SetComp": "a set comprehension", "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression", "Subscript": "indexing",
    "Tuple": "a tuple", "List": "a list", "Dict": "a dictionary",
    "Set": "a set", "Compare": "a comparison", "BoolOp": "a boolean operator",
    "IfExp": "a conditional expression", "Starred": "a starred expression",
    "NamedExpr": "an assignment", "JoinedStr": "a string", "Await": "await",
    "Yield": "yield", "Slice": "a slice",
}


def _position(node, starts, origin, text):
    """Position in the typed text of an ``ast`` node."""
    col = getattr(node, "col_offset", 0) or 0
    best = starts[0][1]
    for offset, tok in starts:
        if offset <= col:
            best = tok
        else:
            break
    p = best.pos
    return origin[p] if p < len(origin) else len(text)


def _tree_depth(root):
    """Depth of an ``ast`` tree, computed without recursion."""
    deepest = 0
    count = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if count > 4 * MAX_NODES:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, count


def parse_answer(text, vocabulary):
    """Parse a typed answer into a :class:`Node` tree, refusing anything unsafe.

    The grammar is that of ordinary formulas,

    .. math::

        e ::= n \\mid v \\mid f(e, \\dots) \\mid f'(e) \\mid e \\pm e \\mid e * e
        \\mid e / e \\mid e \\,\\hat{}\\, q \\mid -e \\mid e.T,

    with ``n`` a number, ``v`` a name of the vocabulary, ``f`` a function of
    the vocabulary or of :data:`BUILTIN_FUNCTIONS`, and ``q`` a plain
    number with :math:`|q| \\le 10` (``x**2`` and ``x^2`` are the same).

    Parameters
    ----------
    text : str
        The answer as typed.
    vocabulary : Vocabulary
        The names and functions the exercise part allows.

    Returns
    -------
    Node
        The root of the expression tree.

    Raises
    ------
    TypeError
        If ``text`` is not a string or ``vocabulary`` not a Vocabulary.
    AnswerSyntaxError
        If the text is empty, too long, contains a character, a name or a
        construct outside the allow-list, does not parse, or would be too
        large once expanded. The message names the piece and its position.
    AnswerNameError
        If the text uses a name the vocabulary does not define.

    Examples
    --------
    >>> tree = parse_answer("x^2", Vocabulary(names={"x": "point"}))
    >>> tree.kind, tree.args[1].value
    ('pow', Fraction(2, 1))
    """
    if not isinstance(text, str):
        raise TypeError(f"answer must be a string, got {type(text).__name__}")
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError("vocabulary must be a Vocabulary, got "
                        f"{type(vocabulary).__name__}")
    if len(text) > MAX_LENGTH:
        raise AnswerSyntaxError(
            f"the answer is too long: {len(text)} characters, the limit is "
            f"{MAX_LENGTH}", None, "")
    if not text.strip():
        raise AnswerSyntaxError("the answer is empty", None, text)
    ascii_text, origin = _normalise(text)
    tokens = _tokenize(ascii_text, origin, text)
    source, starts = _rewrite(tokens)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        col = (err.offset or 1) - 1
        fake = ast.Constant(0)
        fake.col_offset = col
        raise AnswerSyntaxError(
            "this does not read as a formula here", _position(fake, starts, origin, text),
            text) from None
    except (RecursionError, MemoryError, ValueError):
        raise AnswerSyntaxError("the answer is too deeply nested", None, text) from None
    depth, count = _tree_depth(tree)
    if count > MAX_NODES:
        raise AnswerSyntaxError(
            f"the answer is too large ({count} pieces, the limit is {MAX_NODES})",
            None, text)
    if depth > MAX_TREE_DEPTH:
        raise AnswerSyntaxError(
            f"the answer is nested too deeply ({depth} levels, the limit is "
            f"{MAX_TREE_DEPTH})", None, text)
    walker = _Walker(vocabulary, starts, origin, text)
    root = walker.convert(tree)
    _check_size(root, text)
    return root


class _Walker:
    """Convert an ``ast`` tree to :class:`Node`, enforcing the allow-list."""

    def __init__(self, vocabulary, starts, origin, text):
        self.vocab = vocabulary
        self.starts = starts
        self.origin = origin
        self.text = text
        self.builtins = set(vocabulary.allowed_builtins())

    def pos(self, node):
        return _position(node, self.starts, self.origin, self.text)

    def fail(self, reason, node, cls=AnswerSyntaxError):
        raise cls(reason, self.pos(node), self.text)

    def convert(self, node):
        if isinstance(node, ast.Expression):
            return self.convert(node.body)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                self.fail(f"the operator {type(node.op).__name__} is not allowed; "
                          "use + - * / ^", node)
            left = self.convert(node.left)
            if op == "pow":
                exponent = self.exponent(node.right)
                return Node("pow", args=(left, Node("num", exponent, pos=self.pos(node.right))),
                            pos=self.pos(node))
            right = self.convert(node.right)
            return Node(op, args=(left, right), pos=self.pos(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Node("neg", args=(self.convert(node.operand),), pos=self.pos(node))
            if isinstance(node.op, ast.UAdd):
                return self.convert(node.operand)
            self.fail(f"the operator {type(node.op).__name__} is not allowed", node)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                what = "a string" if isinstance(value, (str, bytes)) else repr(value)
                self.fail(f"{what} is not allowed in an answer", node)
            return Node("num", self.literal(node), pos=self.pos(node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                self.fail(f"the attribute '.{node.attr}' is not allowed; only .T "
                          "(transpose) is", node)
            return Node("transpose", args=(self.convert(node.value),), pos=self.pos(node))
        word = _NODE_WORDS.get(type(node).__name__, type(node).__name__)
        self.fail(f"{word} is not allowed in an answer", node)

    def literal(self, node):
        # Work from the typed digits so that 0.1 is exactly 1/10.
        for offset, tok in self.starts:
            if tok.kind == "number" and offset == node.col_offset:
                return Fraction(tok.text)
        return Fraction(str(node.value))

    def exponent(self, node):
        """An exponent: a plain small number, possibly negative or a fraction."""
        value = self._plain_number(node)
        if value is None:
            self.fail(f"an exponent must be a plain number between -{MAX_EXPONENT} "
                      f"and {MAX_EXPONENT}, like 2, -1 or (1/2)", node)
        if abs(value) > MAX_EXPONENT or value.denominator > MAX_EXPONENT_DENOMINATOR:
            self.fail(f"the exponent {value} is out of range: exponents must lie "
                      f"between -{MAX_EXPONENT} and {MAX_EXPONENT} with a "
                      f"denominator at most {MAX_EXPONENT_DENOMINATOR}", node)
        return value

    def _plain_number(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return self.literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self._plain_number(node.operand)
            if inner is None:
                return None
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            top = self._plain_number(node.left)
            bottom = self._plain_number(node.right)
            if top is None or bottom is None or bottom == 0:
                return None
            if top.denominator != 1 or bottom.denominator != 1:
                return None
            return top / bottom
        return None

    def name(self, node):
        ident = node.id
        if _PRIME_TAG in ident:
            self.fail("a derivative written with primes must be applied, as in "
                      "phi'(rho)", node)
        if ident in self.vocab.names:
            return Node("name", ident, pos=self.pos(node))
        if ident in self.vocab.functions or ident in self.builtins \
                or FUNCTION_ALIASES.get(ident) in self.builtins:
            self.fail(f"{ident} is a function: apply it, as in {ident}(...)", node)
        self.fail(f"the name {ident!r} is not defined in this exercise part; the "
                  f"allowed names are: {self.vocab.describe()}", node, AnswerNameError)

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail("only named functions may be called, as in log(rho)", node)
        if node.keywords:
            self.fail("keyword arguments are not allowed", node)
        ident = node.func.id
        order = 0
        if _PRIME_TAG in ident:
            ident, _, count = ident.partition(_PRIME_TAG)
            order = int(count)
        ident = FUNCTION_ALIASES.get(ident, ident)
        if ident in self.vocab.functions:
            kind = self.vocab.functions[ident]
            arity = {"function": 1, "field": 1, "kernel": 2}[kind]
            if order and kind != "function":
                self.fail(f"primes are only allowed on scalar functions of one "
                          f"variable; {ident} is a {kind}: use grad, div, laplacian",
                          node)
        elif ident in self.builtins:
            arity = BUILTIN_FUNCTIONS[ident][0]
            if order:
                self.fail(f"primes are not allowed on {ident}", node)
        elif ident in self.vocab.names:
            if self.vocab.names[ident] == "field":
                if order:
                    self.fail(f"primes are only allowed on scalar functions of one "
                              f"variable; {ident} is a field: use grad, div, laplacian",
                              node)
                arity = 1
            else:
                self.fail(f"{ident} is not a function and cannot be called", node)
        else:
            self.fail(f"the function {ident!r} is not allowed; the allowed names "
                      f"are: {self.vocab.describe()}", node, AnswerNameError)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail("starred arguments are not allowed", arg)
        if len(node.args) != arity:
            self.fail(f"{ident} takes {arity} argument{'s' if arity > 1 else ''}, "
                      f"got {len(node.args)}", node)
        if ident == "integral":
            dummy = node.args[1]
            if not (isinstance(dummy, ast.Name)
                    and self.vocab.names.get(dummy.id) == "dummy"):
                self.fail("the second argument of integral must be the "
                          "integration variable, as in integral(k(x, y)*rho(y), y)",
                          dummy)
        args = tuple(self.convert(a) for a in node.args)
        return Node("call", ident, args=args, pos=self.pos(node), order=order)


# --------------------------------------------------------------------------
# Size bounds, computed on the tree before any algebra
# --------------------------------------------------------------------------

def _is_zero_literal(node):
    while node.kind == "neg":
        node = node.args[0]
    return node.kind == "num" and node.value == 0


def _bounds(node):
    """Estimated (terms, degree, digits, derivative order, exp nesting, integral nesting).

    An integral is evaluated as a sum over the nodes of a discrete measure,
    so it multiplies the number of terms by :data:`INTEGRAL_NODES`.
    """
    k = node.kind
    if k == "num":
        digits = len(str(abs(node.value.numerator))) + len(str(node.value.denominator))
        return 1, 0, digits, 0, 0, 0
    if k == "name":
        return 1, 1, 0, 0, 0, 0
    if k in ("neg", "transpose"):
        return _bounds(node.args[0])
    if k == "call":
        parts = [_bounds(a) for a in node.args]
        terms = 1
        degree = 0
        digits = 0
        for p in parts:
            terms *= p[0]
            degree += p[1]
            digits += p[2]
        order = max(p[3] for p in parts) + DIFFERENTIAL_ORDER.get(node.value, 0) \
            + node.order
        exp_nest = max(p[4] for p in parts) + (node.value in ("exp", "expm"))
        int_nest = max(p[5] for p in parts) + (node.value == "integral")
        if node.value in DIFFERENTIAL_ORDER or node.order:
            step = 3 ** (DIFFERENTIAL_ORDER.get(node.value, 0) + node.order)
            terms *= step * (degree + 1)
        if node.value == "integral":
            terms *= INTEGRAL_NODES
        return terms, degree, digits, order, exp_nest, int_nest
    a = _bounds(node.args[0])
    b = _bounds(node.args[1])
    if k in ("add", "sub"):
        return (a[0] + b[0], max(a[1], b[1]), max(a[2], b[2]) + 1,
                max(a[3], b[3]), max(a[4], b[4]), max(a[5], b[5]))
    if k in ("mul", "matmul", "div"):
        return (a[0] * b[0], a[1] + b[1], a[2] + b[2], max(a[3], b[3]), max(a[4], b[4]),
                max(a[5], b[5]))
    if k == "pow":
        q = node.args[1].value
        n = abs(q.numerator) if q.denominator == 1 else 1
        terms = a[0]
        # multinomial count of (t terms)^n, computed without overflow
        count = 1
        for j in range(1, n + 1):
            count = count * (terms + j - 1) // j
            if count > MAX_TERMS * 10:
                break
        return (count, a[1] * max(n, 1), a[2] * max(n, 1), a[3], a[4], a[5])
    raise AssertionError(k)


def _zero_divisions(root, text):
    """Refuse a division by a literal zero (A/0) or a negative power of zero (0^(-1))."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.kind == "div" and _is_zero_literal(n.args[1]):
            raise AnswerSyntaxError("division by zero: the answer is undefined", n.pos,
                                    text)
        if n.kind == "pow" and _is_zero_literal(n.args[0]) and n.args[1].value < 0:
            raise AnswerSyntaxError("a negative power of zero: the answer is undefined",
                                    n.pos, text)
        stack.extend(n.args)


def _check_size(root, text):
    _zero_divisions(root, text)
    terms, degree, digits, order, exp_nest, int_nest = _bounds(root)
    if int_nest > MAX_INTEGRAL_NESTING:
        raise AnswerSyntaxError(
            f"integrals nest {int_nest} levels deep (the limit is {MAX_INTEGRAL_NESTING}: "
            "an integral inside an integral is the most the checker evaluates)", None, text)
    if digits > MAX_DIGITS:
        raise AnswerSyntaxError(
            f"the numbers in the answer would grow to about {digits} digits (the "
            f"limit is {MAX_DIGITS}); simplify the powers", None, text)
    if degree > MAX_DEGREE:
        raise AnswerSyntaxError(
            f"the answer has degree about {degree} once expanded (the limit is "
            f"{MAX_DEGREE}); simplify the powers", None, text)
    if order > MAX_DERIVATIVE_ORDER:
        raise AnswerSyntaxError(
            f"the answer takes derivatives of order {order} (the limit is "
            f"{MAX_DERIVATIVE_ORDER})", None, text)
    if terms > MAX_TERMS:
        raise AnswerSyntaxError(
            f"the answer would expand to about {terms} terms (the limit is "
            f"{MAX_TERMS}); simplify it", None, text)
    if exp_nest > MAX_EXP_NESTING:
        raise AnswerSyntaxError(
            "exp inside exp is not accepted (the values would overflow)", None, text)


# --------------------------------------------------------------------------
# Helpers on trees
# --------------------------------------------------------------------------

def tree_names(node):
    """The set of variable and function names a tree uses."""
    found = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind in ("name", "call"):
            found.add(n.value)
        stack.extend(n.args)
    return found


_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "matmul": 2, "div": 2, "neg": 3,
               "pow": 4, "transpose": 5, "call": 5, "name": 5, "num": 5}
_SYMBOL = {"add": " + ", "sub": " - ", "mul": "*", "matmul": "*", "div": "/"}


def unparse(node):
    """Plain-text form of a tree, in the answer syntax (``^`` for powers)."""
    k = node.kind
    if k == "num":
        v = node.value
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if k == "name":
        return node.value
    if k == "call":
        return node.value + "'" * node.order + "(" + ", ".join(
            unparse(a) for a in node.args) + ")"
    if k == "neg":
        inner = node.args[0]
        text = unparse(inner)
        return "-" + (f"({text})" if _PRECEDENCE[inner.kind] <= 2 else text)
    if k == "transpose":
        inner = node.args[0]
        text = unparse(inner)
        return (f"({text})" if _PRECEDENCE[inner.kind] < 5 else text) + ".T"
    if k == "pow":
        base, q = node.args
        text = unparse(base)
        if _PRECEDENCE[base.kind] < 5 or (base.kind == "num" and base.value < 0):
            text = f"({text})"
        power = unparse(q)
        if q.value.denominator != 1 or q.value < 0:
            power = f"({power})"
        return f"{text}^{power}"
    left, right = node.args
    p = _PRECEDENCE[k]
    lt = unparse(left)
    rt = unparse(right)
    if _PRECEDENCE[left.kind] < p:
        lt = f"({lt})"
    if _PRECEDENCE[right.kind] < p or (_PRECEDENCE[right.kind] == p and k in ("sub", "div")):
        rt = f"({rt})"
    return lt + _SYMBOL[k] + rt
