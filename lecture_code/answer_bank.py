"""The bank of exercise parts that :mod:`lecture_code.answers` checks.

Each :class:`Part` holds what a checker and an exercises chapter need: an
id such as ``"ex2.2a-var"``, the statement of the question, the names the
answer may use, the right answer (written in the answer syntax, derived by
hand and verified in ``tests/test_answers.py`` against independent sympy
computations), the equivalence rule, decompositions of the right answer
into terms (used to say which kind of term is missing), at least two right
answers written differently and typical wrong answers with the feedback
they should get.

Id scheme: ``ex<exercise>.<question><letter>`` for the four exercises of
the notes, with a suffix ``-var`` (first variation), ``-grad``
(Wasserstein gradient), ``-pde`` (right-hand side of the flow) when one
question asks for several formulas; ``fv-<energy>-<suffix>`` for the first
variations, gradients and flows of the main text.

Conventions of the answers: ``x`` is the point of R^d; ``grad``, ``div``
and ``laplacian`` act on x; a field name alone (``rho``) is its value at x,
and ``rho(y)`` its value at another point; ``integral(h, y)`` is the
integral of ``h`` over y in R^d; a PDE answer is the right-hand side of
``d/dt rho = ...``; ``A.T`` is the transpose; ``I`` the identity.

Example
-------
>>> part = PARTS["fv-entropy-pde"]
>>> part.rule, part.shape
('equal', 'scalar')
"""

from dataclasses import dataclass, field

from .answer_parser import Vocabulary

__all__ = ["Part", "PARTS", "EXERCISES", "get_part", "parts_of"]

#: Equivalence rules: a first variation is defined up to an additive
#: constant (constant in space); everything else must be equal.
RULES = ("up_to_constant", "equal")
#: Feedback kinds a wrong answer can get.
FEEDBACK_KINDS = ("sign", "factor", "missing_term", "extra_term", "term_sign",
                  "term_factor", "order", "wrong_variable", "wrong_type",
                  "undefined", "incorrect", "parse_error", "unknown_name", "unsupported",
                  "undecidable", "time_limit", "could_not_evaluate")


@dataclass(frozen=True)
class Part:
    """One checkable part of an exercise.

    Attributes
    ----------
    id : str
        Identifier, e.g. ``"ex1.2a-var"``.
    exercise : str
        Title of the exercise it belongs to.
    question : str
        The question, in one or two sentences (Markdown with ``$...$`` math).
    asks_for : str
        What the answer is, e.g. the first variation at x.
    names : dict
        Allowed variables (see :class:`~lecture_code.answer_parser.Vocabulary`).
    functions : dict
        Allowed functions of the exercise (``phi``, ``k`` ...).
    reference : str
        A right answer in the answer syntax.
    latex : str
        The right answer in LaTeX (shown only when asked).
    rule : str
        ``"up_to_constant"`` or ``"equal"``.
    shape : str
        ``"scalar"``, ``"vector"`` or ``"matrix"``.
    term_bases : tuple of tuple of str
        Decompositions of the right answer into terms whose sum is the
        right answer; feedback says which kind of term is missing or has a
        wrong sign or factor.
    accepted : tuple of str
        Right answers written in different ways (tests accept each).
    wrong : tuple of (str, str)
        Typical wrong answers and the feedback kind they must get.
    positive : tuple of str
        Fields that are positive densities.
    density : str or None
        The Lebesgue density of alpha, which ``integral`` integrates against.
    measure : bool
        ``m``, ``Q``, ``Sigma`` are the moments of alpha.
    relations : dict
        Fields defined from others (``rho = rho_alpha / rho_nu``).
    remark : str
        A remark shown with the solution (a common slip, a convention).
    """

    id: str
    exercise: str
    question: str
    asks_for: str
    names: dict
    functions: dict
    reference: str
    latex: str
    rule: str
    shape: str
    term_bases: tuple
    accepted: tuple
    wrong: tuple
    positive: tuple = ()
    density: str = None
    measure: bool = False
    relations: dict = field(default_factory=dict)
    remark: str = ""

    @property
    def vocabulary(self):
        """The :class:`~lecture_code.answer_parser.Vocabulary` of this part."""
        return Vocabulary(names=dict(self.names), functions=dict(self.functions))

    @property
    def dim(self):
        """Space dimension used for the numeric checks (3 with matrices, else 2)."""
        kinds = set(self.names.values())
        return 3 if kinds & {"matrix", "symmetric", "vector", "identity"} else 2


_EX1 = "Exercise 1 (phi-divergences and their Wasserstein gradient flow)"
_EX2 = "Exercise 2 (Dirichlet energy and Fisher information)"
_EX3 = "Exercise 3 (Gaussians under linear dynamics)"
_EX4 = "Exercise 4 (Wasserstein flows of quadratic kernels)"
_FV = "First variations, Wasserstein gradients and flows (main text)"

_DENSITY = {"x": "point", "rho": "field"}
_PHI = {"x": "point", "y": "dummy", "rho": "field", "rho_alpha": "field",
        "rho_nu": "field"}
_PHI_COMMON = dict(positive=("rho_alpha", "rho_nu"), density="rho_alpha",
                   relations={"rho": ("rho_alpha", "rho_nu")})
_KERNEL = {"x": "point", "y": "dummy", "rho": "field", "A": "matrix", "m": "vector"}
_KERNEL2 = {"x": "point", "y": "dummy", "rho": "field", "A": "matrix", "B": "matrix",
            "Q": "symmetric", "m": "vector", "Sigma": "symmetric"}

_G = "(A.T*Sigma*B + B.T*Sigma*A + A*Sigma*B.T + B*Sigma*A.T)"

_LIST = [
    # ---------------- main text ----------------
    Part("fv-potential-var", _FV,
         "Potential energy $f(\\alpha)=\\int V\\,d\\alpha$: first variation.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_DENSITY, V="field"), {},
         "V", "V(x)", "up_to_constant", "scalar", (("V",),),
         ("V", "V(x) + 1", "2*V/2 - 3"),
         (("-V", "sign"), ("2*V", "factor"), ("V + rho", "extra_term")),
         positive=("rho",)),
    Part("fv-potential-grad", _FV,
         "Potential energy $f(\\alpha)=\\int V\\,d\\alpha$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_DENSITY, V="field"), {},
         "grad(V)", "\\nabla V(x)", "equal", "vector", (("grad(V)",),),
         ("grad(V)", "grad(V + 3)", "grad(V(x))"),
         (("-grad(V)", "sign"), ("2*grad(V)", "factor"),
          ("grad(V) + grad(rho)/rho", "extra_term")),
         positive=("rho",)),
    Part("fv-potential-pde", _FV,
         "Potential energy: right-hand side of the Wasserstein gradient flow "
         "$\\partial_t\\rho = \\dots$",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY, V="field"), {},
         "div(rho*grad(V))", "\\operatorname{div}(\\rho\\nabla V)", "equal", "scalar",
         (("div(rho*grad(V))",), ("dot(grad(rho), grad(V))", "rho*laplacian(V)")),
         ("div(rho*grad(V))", "dot(grad(rho), grad(V)) + rho*laplacian(V)"),
         (("-div(rho*grad(V))", "sign"), ("2*div(rho*grad(V))", "factor"),
          ("rho*laplacian(V)", "missing_term")),
         positive=("rho",)),
    Part("fv-interaction-var", _FV,
         "Interaction energy $f(\\alpha)=\\iint k(x,y)\\,d\\alpha(x)\\,d\\alpha(y)$ with a "
         "kernel $k$ that need not be symmetric: first variation.",
         "the first variation $\\delta f(\\alpha)(x)$",
         {"x": "point", "y": "dummy", "rho": "field"}, {"k": "kernel"},
         "integral((k(x, y) + k(y, x))*rho(y), y)",
         "\\int \\big(k(x,y)+k(y,x)\\big)\\,\\rho(y)\\,dy", "up_to_constant", "scalar",
         (("integral(k(x, y)*rho(y), y)", "integral(k(y, x)*rho(y), y)"),),
         ("integral((k(x, y) + k(y, x))*rho(y), y)",
          "integral(k(x,y)*rho(y), y) + integral(rho(y)*k(y,x), y) + 5"),
         (("-integral((k(x, y) + k(y, x))*rho(y), y)", "sign"),
          ("2*integral((k(x, y) + k(y, x))*rho(y), y)", "factor"),
          ("integral(k(x, y)*rho(y), y)", "missing_term"),
          ("2*integral(k(x, y)*rho(y), y)", "term_factor")),
         positive=("rho",), density="rho",
         remark="Only for a symmetric kernel do the two integrals merge into "
                "$2\\int k(x,y)\\,d\\alpha(y)$."),
    Part("fv-interaction-grad", _FV,
         "Interaction energy with a kernel $k(x,y)$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$",
         {"x": "point", "y": "dummy", "rho": "field"}, {"k": "kernel"},
         "integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y)",
         "\\int \\big(\\nabla_x k(x,y)+\\nabla_x k(y,x)\\big)\\,\\rho(y)\\,dy",
         "equal", "vector",
         (("integral(grad(k(x, y))*rho(y), y)", "integral(grad(k(y, x))*rho(y), y)"),),
         ("integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y)",
          "grad(integral((k(x, y) + k(y, x))*rho(y), y))"),
         (("-integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y)", "sign"),
          ("integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y)/2", "factor"),
          ("integral(grad(k(x, y))*rho(y), y)", "missing_term")),
         positive=("rho",), density="rho"),
    Part("fv-interaction-pde", _FV,
         "Interaction energy with a kernel $k(x,y)$: right-hand side of the "
         "Wasserstein gradient flow $\\partial_t\\rho=\\dots$",
         "the right-hand side of $\\partial_t \\rho$",
         {"x": "point", "y": "dummy", "rho": "field"}, {"k": "kernel"},
         "div(rho*integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y))",
         "\\operatorname{div}\\Big(\\rho(x)\\int \\big(\\nabla_x k(x,y)+\\nabla_x k(y,x)\\big)"
         "\\rho(y)\\,dy\\Big)", "equal", "scalar",
         (("div(rho*integral(grad(k(x, y))*rho(y), y))",
           "div(rho*integral(grad(k(y, x))*rho(y), y))"),),
         ("div(rho*integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y))",
          "dot(grad(rho), grad(integral((k(x,y) + k(y,x))*rho(y), y))) "
          "+ rho*laplacian(integral((k(x,y) + k(y,x))*rho(y), y))"),
         (("-div(rho*integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y))", "sign"),
          ("2*div(rho*integral((grad(k(x, y)) + grad(k(y, x)))*rho(y), y))", "factor"),
          ("div(rho*integral(grad(k(y, x))*rho(y), y))", "missing_term")),
         positive=("rho",), density="rho"),
    Part("fv-internal-var", _FV,
         "Internal energy $f(\\alpha)=\\int U(\\rho(x))\\,dx$: first variation.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_DENSITY), {"U": "function"},
         "U'(rho)", "U'(\\rho(x))", "up_to_constant", "scalar", (("U'(rho)",),),
         ("U'(rho)", "U'(rho(x)) - 7"),
         (("-U'(rho)", "sign"), ("2*U'(rho)", "factor"),
          ("U'(rho) + rho*U''(rho)", "extra_term")),
         positive=("rho",)),
    Part("fv-internal-grad", _FV,
         "Internal energy $f(\\alpha)=\\int U(\\rho)\\,dx$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_DENSITY),
         {"U": "function"},
         "U''(rho)*grad(rho)", "U''(\\rho)\\nabla\\rho", "equal", "vector",
         (("U''(rho)*grad(rho)",),),
         ("grad(U'(rho))", "U''(rho)*grad(rho)"),
         (("-U''(rho)*grad(rho)", "sign"), ("2*U''(rho)*grad(rho)", "factor"),
          ("U''(rho)*grad(rho) + U'(rho)*grad(rho)/rho", "extra_term")),
         positive=("rho",)),
    Part("fv-internal-pde", _FV,
         "Internal energy $f(\\alpha)=\\int U(\\rho)\\,dx$: right-hand side of the "
         "Wasserstein gradient flow.",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {"U": "function"},
         "div(rho*U''(rho)*grad(rho))", "\\operatorname{div}(\\rho\\,U''(\\rho)\\nabla\\rho)",
         "equal", "scalar",
         (("div(rho*U''(rho)*grad(rho))",),
          ("rho*U''(rho)*laplacian(rho)",
           "(U''(rho) + rho*U'''(rho))*dot(grad(rho), grad(rho))")),
         ("div(rho*U''(rho)*grad(rho))", "laplacian(rho*U'(rho) - U(rho))"),
         (("-div(rho*U''(rho)*grad(rho))", "sign"),
          ("div(rho*U''(rho)*grad(rho))/2", "factor"),
          ("rho*U''(rho)*laplacian(rho)", "missing_term")),
         positive=("rho",),
         remark="With the pressure $P(s)=sU'(s)-U(s)$ the flow reads "
                "$\\partial_t\\rho=\\Delta P(\\rho)$."),
    Part("fv-entropy-var", _FV,
         "Entropy $f(\\alpha)=\\int \\rho\\log\\rho\\,dx$: first variation.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_DENSITY), {},
         "log(rho) + 1", "\\log\\rho(x)+1", "up_to_constant", "scalar", (("log(rho)",),),
         ("log(rho) + 1", "log(rho)", "log(rho(x)) - 3"),
         (("-log(rho) - 1", "sign"), ("2*log(rho)", "factor"),
          ("log(rho) + rho", "extra_term")),
         positive=("rho",)),
    Part("fv-entropy-grad", _FV,
         "Entropy $f(\\alpha)=\\int \\rho\\log\\rho\\,dx$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_DENSITY), {},
         "grad(rho)/rho", "\\nabla\\log\\rho = \\nabla\\rho/\\rho", "equal", "vector",
         (("grad(rho)/rho",),),
         ("grad(log(rho))", "grad(rho)/rho"),
         (("-grad(rho)/rho", "sign"), ("2*grad(log(rho))", "factor"),
          ("grad(rho)/rho + grad(rho)", "extra_term")),
         positive=("rho",)),
    Part("fv-entropy-pde", _FV,
         "Entropy $f(\\alpha)=\\int \\rho\\log\\rho\\,dx$: right-hand side of the "
         "Wasserstein gradient flow.",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {},
         "laplacian(rho)", "\\Delta\\rho", "equal", "scalar",
         (("laplacian(rho)",),
          ("dot(grad(rho), grad(log(rho)))", "rho*laplacian(log(rho))")),
         ("laplacian(rho)", "div(rho*grad(log(rho)))", "div(grad(rho))"),
         (("-laplacian(rho)", "sign"), ("2*laplacian(rho)", "factor"),
          ("rho*laplacian(log(rho))", "missing_term")),
         positive=("rho",),
         remark="The flow is the heat equation $\\partial_t\\rho=+\\Delta\\rho$; "
                "writing $-\\Delta\\rho$ (a backward heat equation) is a common slip."),
    # ---------------- Exercise 1 ----------------
    Part("ex1.1", _EX1,
         "Jensen's inequality gives $D_\\varphi(\\alpha|\\nu)=E_\\nu[\\varphi(\\rho)]\\ge"
         "\\varphi(E_\\nu[\\rho])$. What is $E_\\nu[\\rho]=\\int\\rho\\,d\\nu$?",
         "the number $E_\\nu[\\rho]$", dict(_PHI), {},
         "1", "1", "equal", "scalar", (("1",),),
         ("1", "integral(rho(y)*rho_nu(y), y)", "integral(rho_alpha(y), y)"),
         (("-1", "sign"), ("2", "factor"), ("rho", "wrong_variable")),
         **_PHI_COMMON),
    Part("ex1.2a-var", _EX1,
         "$f(\\alpha)=D_\\varphi(\\alpha|\\nu)$ with $\\rho=d\\alpha/d\\nu$: first variation.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_PHI), {"phi": "function"},
         "phi'(rho)", "\\varphi'(\\rho(x))", "up_to_constant", "scalar", (("phi'(rho)",),),
         ("phi'(rho)", "phi'(rho_alpha/rho_nu) + 2"),
         (("-phi'(rho)", "sign"), ("2*phi'(rho)", "factor"),
          ("phi'(rho) + phi(rho)", "extra_term"), ("phi'(rho_alpha)", "wrong_variable")),
         **_PHI_COMMON),
    Part("ex1.2a-grad", _EX1,
         "$f(\\alpha)=D_\\varphi(\\alpha|\\nu)$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_PHI),
         {"phi": "function"},
         "phi''(rho)*grad(rho)", "\\varphi''(\\rho)\\nabla\\rho = \\nabla\\varphi'(\\rho)",
         "equal", "vector",
         (("phi''(rho)*grad(rho)",),
          ("phi''(rho)*grad(rho_alpha)/rho_nu",
           "-phi''(rho)*rho_alpha*grad(rho_nu)/rho_nu^2")),
         ("grad(phi'(rho))", "phi''(rho_alpha/rho_nu)*grad(rho_alpha/rho_nu)"),
         (("-grad(phi'(rho))", "sign"), ("2*phi''(rho)*grad(rho)", "factor"),
          ("phi''(rho)*grad(rho_alpha)/rho_nu", "missing_term")),
         **_PHI_COMMON),
    Part("ex1.2b", _EX1,
         "$f(\\alpha)=D_\\varphi(\\alpha|\\nu)$: the Wasserstein gradient flow, as the "
         "right-hand side of $\\partial_t\\rho_\\alpha=\\dots$ for the Lebesgue density "
         "$\\rho_\\alpha$ of $\\alpha$.",
         "the right-hand side of $\\partial_t\\rho_\\alpha$", dict(_PHI),
         {"phi": "function"},
         "div(rho_alpha*grad(phi'(rho)))",
         "\\operatorname{div}\\big(\\rho_\\alpha\\nabla\\varphi'(\\rho)\\big)", "equal",
         "scalar",
         (("div(rho_alpha*grad(phi'(rho)))",),
          ("dot(grad(rho_alpha), grad(phi'(rho)))", "rho_alpha*laplacian(phi'(rho))")),
         ("div(rho_alpha*grad(phi'(rho)))", "div(rho_alpha*phi''(rho)*grad(rho))",
          "dot(grad(rho_alpha), grad(phi'(rho))) + rho_alpha*laplacian(phi'(rho))"),
         (("-div(rho_alpha*grad(phi'(rho)))", "sign"),
          ("2*div(rho_alpha*grad(phi'(rho)))", "factor"),
          ("rho_alpha*laplacian(phi'(rho))", "missing_term")),
         **_PHI_COMMON),
    Part("ex1.2c-var", _EX1,
         "$\\varphi(s)=s\\log s$ (relative entropy): first variation.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_PHI), {},
         "log(rho) + 1", "\\log\\rho(x)+1", "up_to_constant", "scalar",
         (("log(rho_alpha)", "-log(rho_nu)"),),
         ("log(rho) + 1", "log(rho_alpha) - log(rho_nu)"),
         (("-log(rho)", "sign"), ("2*log(rho)", "factor"),
          ("log(rho_alpha)", "missing_term")),
         **_PHI_COMMON),
    Part("ex1.2c-grad", _EX1,
         "$\\varphi(s)=s\\log s$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_PHI), {},
         "grad(log(rho))", "\\nabla\\log\\rho_\\alpha-\\nabla\\log\\rho_\\nu", "equal",
         "vector", (("grad(rho_alpha)/rho_alpha", "-grad(rho_nu)/rho_nu"),),
         ("grad(rho)/rho", "grad(rho_alpha)/rho_alpha - grad(rho_nu)/rho_nu"),
         (("grad(log(rho_nu/rho_alpha))", "sign"), ("2*grad(log(rho))", "factor"),
          ("grad(rho_alpha)/rho_alpha", "missing_term")),
         **_PHI_COMMON),
    Part("ex1.2c-pde", _EX1,
         "$\\varphi(s)=s\\log s$: the flow, as the right-hand side of "
         "$\\partial_t\\rho_\\alpha=\\dots$ (a Fokker–Planck equation).",
         "the right-hand side of $\\partial_t\\rho_\\alpha$", dict(_PHI), {},
         "laplacian(rho_alpha) - div(rho_alpha*grad(log(rho_nu)))",
         "\\Delta\\rho_\\alpha-\\operatorname{div}(\\rho_\\alpha\\nabla\\log\\rho_\\nu)",
         "equal", "scalar",
         (("laplacian(rho_alpha)", "-div(rho_alpha*grad(log(rho_nu)))"),),
         ("div(rho_alpha*grad(log(rho)))",
          "div(grad(rho_alpha) - rho_alpha*grad(rho_nu)/rho_nu)"),
         (("div(rho_alpha*grad(log(rho_nu))) - laplacian(rho_alpha)", "sign"),
          ("2*div(rho_alpha*grad(log(rho)))", "factor"),
          ("laplacian(rho_alpha)", "missing_term"),
          ("-laplacian(rho_alpha) - div(rho_alpha*grad(log(rho_nu)))", "term_sign")),
         **_PHI_COMMON),
    # ---------------- Exercise 2 ----------------
    Part("ex2.1a-var", _EX2,
         "Dirichlet energy $\\mathcal E(\\alpha)=\\int|\\nabla\\rho|^2dx$: first variation.",
         "the first variation $\\delta\\mathcal E(\\alpha)(x)$", dict(_DENSITY), {},
         "-2*laplacian(rho)", "-2\\Delta\\rho", "equal", "scalar",
         (("-2*laplacian(rho)",),),
         ("-2*laplacian(rho)", "-2*div(grad(rho))"),
         (("2*laplacian(rho)", "sign"), ("-laplacian(rho)", "factor"),
          ("-2*laplacian(rho) + dot(grad(rho), grad(rho))", "extra_term")),
         positive=("rho",)),
    Part("ex2.1a-pde", _EX2,
         "Dirichlet energy: right-hand side of the $L^2(dx)$ gradient flow "
         "$\\partial_t\\rho=-\\delta\\mathcal E$.",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {},
         "2*laplacian(rho)", "2\\Delta\\rho", "equal", "scalar", (("2*laplacian(rho)",),),
         ("2*laplacian(rho)", "laplacian(2*rho)"),
         (("-2*laplacian(rho)", "sign"), ("laplacian(rho)", "factor"),
          ("2*laplacian(rho) - dot(grad(rho), grad(rho))", "extra_term")),
         positive=("rho",)),
    Part("ex2.1b-grad", _EX2,
         "Dirichlet energy: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W\\mathcal E(\\alpha)(x)$", dict(_DENSITY), {},
         "-2*grad(laplacian(rho))", "-2\\nabla\\Delta\\rho", "equal", "vector",
         (("-2*grad(laplacian(rho))",),),
         ("-2*grad(laplacian(rho))", "grad(-2*div(grad(rho)))"),
         (("2*grad(laplacian(rho))", "sign"), ("-grad(laplacian(rho))", "factor"),
          ("-2*grad(laplacian(rho)) + grad(rho)", "extra_term")),
         positive=("rho",)),
    Part("ex2.1b-pde", _EX2,
         "Dirichlet energy: right-hand side of the Wasserstein gradient flow.",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {},
         "-2*div(rho*grad(laplacian(rho)))",
         "-2\\operatorname{div}(\\rho\\nabla\\Delta\\rho)", "equal", "scalar",
         (("-2*div(rho*grad(laplacian(rho)))",),
          ("-2*dot(grad(rho), grad(laplacian(rho)))", "-2*rho*laplacian(laplacian(rho))")),
         ("-2*div(rho*grad(laplacian(rho)))",
          "-2*dot(grad(rho), grad(laplacian(rho))) - 2*rho*laplacian(laplacian(rho))"),
         (("2*div(rho*grad(laplacian(rho)))", "sign"),
          ("-div(rho*grad(laplacian(rho)))", "factor"),
          ("-2*rho*laplacian(laplacian(rho))", "missing_term")),
         positive=("rho",)),
    Part("ex2.2a-var", _EX2,
         "Fisher information $\\mathcal I(\\alpha)=\\int|\\nabla\\log\\rho|^2\\rho\\,dx"
         "=\\int|\\nabla\\rho|^2/\\rho\\,dx$: first variation.",
         "the first variation $\\delta\\mathcal I(\\alpha)(x)$", dict(_DENSITY), {},
         "-4*laplacian(sqrt(rho))/sqrt(rho)",
         "-4\\,\\frac{\\Delta\\sqrt\\rho}{\\sqrt\\rho}=|\\nabla\\log\\rho|^2-2\\frac{\\Delta\\rho}{\\rho}",
         "equal", "scalar",
         (("-4*laplacian(sqrt(rho))/sqrt(rho)",),
          ("dot(grad(log(rho)), grad(log(rho)))", "-2*laplacian(rho)/rho"),
          ("-dot(grad(log(rho)), grad(log(rho)))", "-2*laplacian(log(rho))")),
         ("-4*laplacian(sqrt(rho))/sqrt(rho)",
          "norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho",
          "-norm(grad(rho))^2/rho^2 - 2*laplacian(log(rho))"),
         (("4*laplacian(sqrt(rho))/sqrt(rho)", "sign"),
          ("-2*laplacian(sqrt(rho))/sqrt(rho)", "factor"),
          ("-2*laplacian(rho)/rho", "missing_term"),
          ("-norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho", "term_sign")),
         positive=("rho",),
         remark="The sign of $|\\nabla\\log\\rho|^2$ depends on the form: "
                "$+|\\nabla\\log\\rho|^2-2\\Delta\\rho/\\rho$ but "
                "$-|\\nabla\\log\\rho|^2-2\\Delta\\log\\rho$."),
    Part("ex2.2a-pde", _EX2,
         "Fisher information: right-hand side of the $L^2(dx)$ gradient flow "
         "$\\partial_t\\rho=-\\delta\\mathcal I$.",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {},
         "4*laplacian(sqrt(rho))/sqrt(rho)", "4\\,\\frac{\\Delta\\sqrt\\rho}{\\sqrt\\rho}",
         "equal", "scalar",
         (("4*laplacian(sqrt(rho))/sqrt(rho)",),
          ("-dot(grad(log(rho)), grad(log(rho)))", "2*laplacian(rho)/rho"),
          ("dot(grad(log(rho)), grad(log(rho)))", "2*laplacian(log(rho))")),
         ("4*laplacian(sqrt(rho))/sqrt(rho)",
          "2*laplacian(rho)/rho - norm(grad(log(rho)))^2"),
         (("-4*laplacian(sqrt(rho))/sqrt(rho)", "sign"),
          ("8*laplacian(sqrt(rho))/sqrt(rho)", "factor"),
          ("2*laplacian(rho)/rho", "missing_term")),
         positive=("rho",)),
    Part("ex2.2b-grad", _EX2,
         "Fisher information: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W\\mathcal I(\\alpha)(x)$", dict(_DENSITY), {},
         "-4*grad(laplacian(sqrt(rho))/sqrt(rho))",
         "-4\\nabla\\frac{\\Delta\\sqrt\\rho}{\\sqrt\\rho}", "equal", "vector",
         (("-4*grad(laplacian(sqrt(rho))/sqrt(rho))",),
          ("grad(dot(grad(log(rho)), grad(log(rho))))", "-2*grad(laplacian(rho)/rho)"),
          ("-grad(dot(grad(log(rho)), grad(log(rho))))", "-2*grad(laplacian(log(rho)))")),
         ("-4*grad(laplacian(sqrt(rho))/sqrt(rho))",
          "grad(norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho)"),
         (("4*grad(laplacian(sqrt(rho))/sqrt(rho))", "sign"),
          ("-2*grad(laplacian(sqrt(rho))/sqrt(rho))", "factor"),
          ("-2*grad(laplacian(rho)/rho)", "missing_term")),
         positive=("rho",)),
    Part("ex2.2b-pde", _EX2,
         "Fisher information: right-hand side of the Wasserstein gradient flow "
         "(the DLSS equation).",
         "the right-hand side of $\\partial_t \\rho$", dict(_DENSITY), {},
         "-4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))",
         "-4\\operatorname{div}\\Big(\\rho\\nabla\\frac{\\Delta\\sqrt\\rho}{\\sqrt\\rho}\\Big)",
         "equal", "scalar",
         (("-4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))",),
          ("div(rho*grad(dot(grad(log(rho)), grad(log(rho)))))",
           "-2*div(rho*grad(laplacian(rho)/rho))")),
         ("-4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))",
          "div(rho*grad(norm(grad(log(rho)))^2 - 2*laplacian(rho)/rho))"),
         (("4*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))", "sign"),
          ("-2*div(rho*grad(laplacian(sqrt(rho))/sqrt(rho)))", "factor"),
          ("-2*div(rho*grad(laplacian(rho)/rho))", "missing_term")),
         positive=("rho",),
         remark="The flow is $\\partial_t\\rho=\\operatorname{div}(\\rho\\nabla\\delta\\mathcal I)$"
                " with $\\delta\\mathcal I=-4\\Delta\\sqrt\\rho/\\sqrt\\rho$; writing "
                "$+4\\operatorname{div}(\\rho\\nabla(\\Delta\\sqrt\\rho/\\sqrt\\rho))$ flips "
                "the sign and makes the Fisher information increase."),
    # ---------------- Exercise 3 ----------------
    Part("ex3.1", _EX3,
         "$X_{t+1}=X_t-\\tau A_tX_t$ with $X_t\\sim\\mathcal N(0,\\Sigma_t)$: give "
         "$\\Sigma_{t+1}$ (write A for $A_t$, Sigma for $\\Sigma_t$).",
         "the covariance $\\Sigma_{t+1}$",
         {"A": "matrix", "Sigma": "symmetric", "tau": "scalar", "I": "identity"}, {},
         "(I - tau*A)*Sigma*(I - tau*A).T", "(I-\\tau A)\\Sigma(I-\\tau A)^\\top",
         "equal", "matrix",
         (("Sigma", "-tau*A*Sigma", "-tau*Sigma*A.T", "tau^2*A*Sigma*A.T"),),
         ("(I - tau*A)*Sigma*(I - tau*A).T",
          "Sigma - tau*A*Sigma - tau*Sigma*A.T + tau^2*A*Sigma*A.T",
          "Sigma - tau*(A*Sigma + (A*Sigma).T) + tau**2*A@Sigma@A.T"),
         (("Sigma + tau*A*Sigma + tau*Sigma*A.T + tau^2*A*Sigma*A.T", "term_sign"),
          ("Sigma - 2*tau*A*Sigma - 2*tau*Sigma*A.T + tau^2*A*Sigma*A.T", "term_factor"),
          ("Sigma - tau*A*Sigma - tau*Sigma*A.T", "missing_term"),
          ("(I - tau*A)*Sigma*(I - tau*A)", "order")),
         remark="The transpose matters: $(I-\\tau A)\\Sigma(I-\\tau A)$ is not a "
                "covariance unless $A$ is symmetric."),
    Part("ex3.2", _EX3,
         "$\\dot X_t=-A_tX_t$: the matrix ODE $\\dot\\Sigma_t=\\dots$ (write A, Sigma).",
         "the right-hand side of $\\dot\\Sigma_t$",
         {"A": "matrix", "Sigma": "symmetric", "I": "identity"}, {},
         "-A*Sigma - Sigma*A.T", "-A\\Sigma-\\Sigma A^\\top", "equal", "matrix",
         (("-A*Sigma", "-Sigma*A.T"),),
         ("-A*Sigma - Sigma*A.T", "-(A*Sigma + (A*Sigma).T)", "-(A*Sigma + Sigma*A.T)"),
         (("A*Sigma + Sigma*A.T", "sign"), ("-2*(A*Sigma + Sigma*A.T)", "factor"),
          ("-A*Sigma", "missing_term"), ("-A*Sigma - A.T*Sigma", "order"),
          ("-2*A*Sigma", "order"))),
    # ---------------- Exercise 4 ----------------
    Part("ex4.1a", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle$: express $f(\\alpha)$ with the mean "
         "$m=m(\\alpha)$ and $A$.",
         "the number $f(\\alpha)$", {"A": "matrix", "m": "vector"}, {},
         "m.T*A*m", "m^\\top A m = \\langle Am, m\\rangle", "equal", "scalar",
         (("m.T*A*m",),),
         ("m.T*A*m", "dot(m, A*m)", "dot(A.T*m, m)"),
         (("-m.T*A*m", "sign"), ("2*m.T*A*m", "factor"), ("m.T*A*m + m.T*m", "extra_term"))),
    Part("ex4.1b-var", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle$: first variation (write m for $m(\\alpha)$).",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_KERNEL), {},
         "dot(x, (A + A.T)*m)", "\\langle (A+A^\\top)m, x\\rangle", "up_to_constant",
         "scalar", (("dot(A*x, m)", "dot(x, A*m)"),),
         ("dot(x, (A + A.T)*m)", "x.T*A*m + m.T*A*x",
          "integral((dot(A*x, y) + dot(A*y, x))*rho(y), y)"),
         (("-dot(x, (A + A.T)*m)", "sign"), ("2*dot(x, (A + A.T)*m)", "factor"),
          ("dot(x, A*m)", "missing_term"), ("2*dot(x, A*m)", "order")),
         positive=("rho",), density="rho", measure=True),
    Part("ex4.1b", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_KERNEL), {},
         "(A + A.T)*m", "(A+A^\\top)m", "equal", "vector", (("A*m", "A.T*m"),),
         ("(A + A.T)*m", "A*m + A.T*m", "grad(dot(x, (A + A.T)*m))"),
         (("-(A + A.T)*m", "sign"), ("2*(A + A.T)*m", "factor"), ("A*m", "missing_term"),
          ("2*A*m", "order")),
         positive=("rho",), density="rho", measure=True),
    Part("ex4.1c-pde", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle$: right-hand side of the Wasserstein gradient flow "
         "$\\partial_t\\rho=\\dots$ (write m for $m(\\alpha_t)$).",
         "the right-hand side of $\\partial_t \\rho$",
         {"x": "point", "rho": "field", "A": "matrix", "m": "vector"}, {},
         "div(rho*(A + A.T)*m)", "\\operatorname{div}\\big(\\rho\\,(A+A^\\top)m\\big)",
         "equal", "scalar",
         (("dot(grad(rho), A*m)", "dot(grad(rho), A.T*m)"),),
         ("div(rho*(A + A.T)*m)", "dot(grad(rho), (A + A.T)*m)"),
         (("-div(rho*(A + A.T)*m)", "sign"), ("2*div(rho*(A + A.T)*m)", "factor"),
          ("dot(grad(rho), A*m)", "missing_term")),
         positive=("rho",)),
    Part("ex4.1c-shift", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle$: the flow translates $\\alpha_0$, "
         "$\\alpha_t=(x\\mapsto x+s_t)_\\#\\alpha_0$. Give $s_t$ (write m0 for $m(\\alpha_0)$, "
         "t for the time).",
         "the translation $s_t$", {"t": "scalar", "A": "matrix", "m0": "vector",
                                   "I": "identity"}, {},
         "(expm(-t*(A + A.T)) - I)*m0", "\\big(e^{-t(A+A^\\top)}-I\\big)m_0", "equal",
         "vector", (("expm(-t*(A + A.T))*m0", "-m0"),),
         ("(expm(-t*(A + A.T)) - I)*m0", "expm(-(A.T + A)*t)*m0 - m0"),
         (("(I - expm(-t*(A + A.T)))*m0", "sign"),
          ("(expm(-t*(A + A.T)) - I)*m0/2", "factor"),
          ("expm(-t*(A + A.T))*m0", "missing_term"),
          ("(expm(-2*t*A) - I)*m0", "order")),
         remark="Then $\\rho_t(x)=\\rho_0(x-s_t)$: the mean obeys "
                "$\\dot m=-(A+A^\\top)m$."),
    Part("ex4.2a-var", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle\\langle Bx,y\\rangle$: first variation, with "
         "$Q=\\int yy^\\top d\\alpha(y)=\\Sigma+mm^\\top$ the second-moment matrix.",
         "the first variation $\\delta f(\\alpha)(x)$", dict(_KERNEL2), {},
         "x.T*(A.T*Q*B + A*Q*B.T)*x", "x^\\top\\big(A^\\top QB+AQB^\\top\\big)x",
         "up_to_constant", "scalar", (("x.T*A.T*Q*B*x", "x.T*A*Q*B.T*x"),),
         ("x.T*(A.T*Q*B + A*Q*B.T)*x", "dot(A*x, Q*B*x) + dot(A.T*x, Q*B.T*x)",
          "integral((dot(A*x, y)*dot(B*x, y) + dot(A*y, x)*dot(B*y, x))*rho(y), y)",
          "x.T*(A.T*(Sigma + m*m.T)*B + A*(Sigma + m*m.T)*B.T)*x"),
         (("-x.T*(A.T*Q*B + A*Q*B.T)*x", "sign"),
          ("2*x.T*(A.T*Q*B + A*Q*B.T)*x", "factor"),
          ("x.T*A.T*Q*B*x", "missing_term"),
          ("x.T*(A.T*Q*B + B.T*Q*A.T)*x", "order"),
          ("x.T*(A.T*Sigma*B + A*Sigma*B.T)*x", "wrong_variable")),
         positive=("rho",), density="rho", measure=True,
         remark="The kernel is not symmetric: $k(y,x)=\\langle Ay,x\\rangle\\langle By,x\\rangle$"
                " gives the second term $x^\\top AQB^\\top x$."),
    Part("ex4.2a-grad", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle\\langle Bx,y\\rangle$: Wasserstein gradient.",
         "the Wasserstein gradient $\\nabla_W f(\\alpha)(x)$", dict(_KERNEL2), {},
         "(A.T*Q*B + B.T*Q*A + A*Q*B.T + B*Q*A.T)*x",
         "(M+M^\\top)x,\\quad M=A^\\top QB+AQB^\\top", "equal", "vector",
         (("A.T*Q*B*x", "B.T*Q*A*x", "A*Q*B.T*x", "B*Q*A.T*x"),),
         ("(A.T*Q*B + B.T*Q*A + A*Q*B.T + B*Q*A.T)*x",
          "grad(x.T*(A.T*Q*B + A*Q*B.T)*x)",
          "integral((dot(B*x, y)*A.T*y + dot(A*x, y)*B.T*y + dot(B.T*x, y)*A*y "
          "+ dot(A.T*x, y)*B*y)*rho(y), y)"),
         (("-(A.T*Q*B + B.T*Q*A + A*Q*B.T + B*Q*A.T)*x", "sign"),
          ("(A.T*Q*B + B.T*Q*A + A*Q*B.T + B*Q*A.T)*x/2", "factor"),
          ("(A.T*Q*B + B.T*Q*A)*x", "missing_term"),
          ("2*(A.T*Q*B + B.T*Q*A)*x", "order")),
         positive=("rho",), density="rho", measure=True,
         remark="Assuming the kernel symmetric gives $2(A^\\top QB+B^\\top QA)x$, which is "
                "wrong in general."),
    Part("ex4.2b", _EX4,
         "$k(x,y)=\\langle Ax,y\\rangle\\langle Bx,y\\rangle$, $\\alpha_0=\\mathcal N(0,\\Sigma_0)$:"
         " the matrix ODE $\\dot\\Sigma_t=\\dots$ (write Sigma for $\\Sigma_t$).",
         "the right-hand side of $\\dot\\Sigma_t$",
         {"A": "matrix", "B": "matrix", "Sigma": "symmetric", "I": "identity"}, {},
         f"-{_G}*Sigma - Sigma*{_G}",
         "-G\\Sigma-\\Sigma G,\\quad G=A^\\top\\Sigma B+B^\\top\\Sigma A+A\\Sigma B^\\top"
         "+B\\Sigma A^\\top", "equal", "matrix",
         (tuple(f"-{t}*Sigma" for t in ("A.T*Sigma*B", "B.T*Sigma*A", "A*Sigma*B.T",
                                         "B*Sigma*A.T"))
          + tuple(f"-Sigma*{t}" for t in ("A.T*Sigma*B", "B.T*Sigma*A", "A*Sigma*B.T",
                                          "B*Sigma*A.T")),),
         (f"-{_G}*Sigma - Sigma*{_G}", f"-{_G}*Sigma - ({_G}*Sigma).T"),
         ((f"{_G}*Sigma + Sigma*{_G}", "sign"),
          (f"-2*{_G}*Sigma - 2*Sigma*{_G}", "factor"),
          ("-(A.T*Sigma*B + B.T*Sigma*A)*Sigma - Sigma*(A.T*Sigma*B + B.T*Sigma*A)",
           "missing_term")),
         remark="The mean stays 0, so $Q_t=\\Sigma_t$, and $G$ is symmetric."),
]

#: Every part, by id, in book order.
PARTS = {part.id: part for part in _LIST}

#: Exercise title -> list of part ids.
EXERCISES = {}
for _part in _LIST:
    EXERCISES.setdefault(_part.exercise, []).append(_part.id)


def parts_of(prefix):
    """Ids of the parts whose id starts with ``prefix``, in book order.

    Examples
    --------
    >>> parts_of("ex3.")
    ['ex3.1', 'ex3.2']
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string such as 'ex2', got {type(prefix).__name__}")
    return [pid for pid in PARTS if pid.startswith(prefix)]


def get_part(part_id):
    """Return the :class:`Part` with this id.

    Raises
    ------
    TypeError
        If ``part_id`` is not a string.
    ValueError
        If there is no such part; the message lists the ids.
    """
    if not isinstance(part_id, str):
        raise TypeError(f"part must be a string id such as 'ex2.1a-var', got "
                        f"{type(part_id).__name__}")
    if part_id not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}; got {part_id!r}")
    return PARTS[part_id]
