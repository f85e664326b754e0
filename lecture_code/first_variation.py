r"""First variations, Wasserstein gradients and gradient-flow PDEs with sympy.

An energy ``f`` of a measure :math:`\alpha` with density :math:`\rho` is
perturbed along a signed measure :math:`\gamma = \beta - \alpha` of zero
mass, with density :math:`\eta`. Its first variation
:math:`\frac{\delta f}{\delta \rho}` is the function such that

.. math::

    \frac{d}{dt} f(\alpha + t\gamma)\Big|_{t=0}
    = \int \frac{\delta f}{\delta \rho}(\alpha)(x)\, \eta(x)\, dx
    \quad\text{for every } \eta \text{ with } \int \eta\, dx = 0 .

Because :math:`\int \eta = 0`, adding a constant to
:math:`\frac{\delta f}{\delta\rho}` changes nothing: the first variation is
defined up to an additive constant. Every result of this module carries
that remark (:attr:`FirstVariation.up_to_constant` and
:attr:`FirstVariation.note`); the representative it returns is the one the
derivation produces, with no constant added or removed (for
:math:`\int \rho\log\rho` it is :math:`\log\rho + 1`).

The Wasserstein gradient is :math:`\nabla_{\mathcal W} f = \nabla
\frac{\delta f}{\delta\rho}` and the gradient flow is the continuity equation
with velocity :math:`v = -\nabla_{\mathcal W} f`:

.. math::

    \partial_t \rho = \operatorname{div}\Big(\rho\, \nabla
    \frac{\delta f}{\delta \rho}\Big).

The derivation is the definition itself: sympy differentiates
:math:`t \mapsto f(\rho + t\eta)` at :math:`t = 0`, integrates by parts the
terms holding derivatives of :math:`\eta` (for energies depending on
:math:`\nabla\rho`), and, for double integrals, renames the integration
variables so that :math:`\eta` is always evaluated at ``x``.

Supported energies: local energies :math:`\int L(x, \rho, \nabla\rho,
\dots)\, dx` (potential, internal, relative entropy, Dirichlet, Fisher
information ...), interaction energies :math:`\iint k(x,y)\rho(x)\rho(y)\,dx\,dy`
with any ``k``, and sums and multiples of these.

References
----------
Santambrogio, *Optimal Transport for Applied Mathematicians*, ch. 7-8
(santambrogio2015). Carrillo, Craig, Patacchini, *A blob method for
diffusion* (carrillo2019blob), for :class:`BlobEntropy`.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from . import checks

__all__ = [
    "rho", "eta", "x", "y", "coordinates", "Energy", "LocalEnergy",
    "InteractionEnergy", "SumEnergy", "FirstVariation", "potential",
    "internal", "relative_entropy", "interaction", "local", "first_variation",
    "dissipation", "rate_along_flow", "evaluate_energy", "evaluate_variation",
    "directional_derivative", "BlobEntropy", "display_form", "to_latex",
]

#: The unknown density and the perturbation, as sympy functions.
rho = sp.Function("rho")
eta = sp.Function("eta")
#: The one-dimensional coordinates (``x``: where the first variation is
#: evaluated, ``y``: the integration variable of interaction terms).
x, y = sp.symbols("x y", real=True)

NOTE = ("A first variation is defined up to an additive constant: the "
        "perturbation eta has zero mass, so delta f + c gives the same "
        "directional derivative for every constant c. The representative "
        "returned is the one the derivation produces (no constant added).")


def coordinates(dim=1):
    r"""The coordinate symbols ``(x, y)`` of dimension ``dim``, as tuples.

    For ``dim = 1`` these are ``((x,), (y,))``; otherwise
    ``((x1, ..., xd), (y1, ..., yd))``.

    Examples
    --------
    >>> coordinates(2)
    ((x1, x2), (y1, y2))
    """
    dim = checks.integer("dim", dim, minimum=1)
    if dim == 1:
        return (x,), (y,)
    return (sp.symbols(f"x1:{dim + 1}", real=True), sp.symbols(f"y1:{dim + 1}", real=True))


def _as_expr(name, value):
    """``value`` as a sympy expression, or a TypeError naming ``name``."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return sp.sympify(value)
    raise TypeError(f"{name} must be a sympy expression, got {value!r}")


def _check_local(name, expr, X, allow_derivatives=True):
    """Check that ``expr`` depends on the density only through rho(X) (and derivatives)."""
    if expr.has(sp.Integral):
        raise ValueError(
            f"{name} must be a local integrand (no integral inside), got {expr}; "
            "write double integrals with interaction(k)")
    for call in expr.atoms(sp.core.function.AppliedUndef):
        if call.func == rho and call.args == tuple(X):
            continue
        if call.func not in (rho, eta):
            continue  # a given function such as V(x) or U(rho(x)); its rho calls are checked too
        raise ValueError(
            f"{name} may depend on the density only through {rho(*X)} and its "
            f"derivatives, got {call} in {expr}; rho at another point (a non-local "
            "term) or the perturbation eta is an unsupported form")
    for der in expr.atoms(sp.Derivative):
        if not allow_derivatives:
            raise ValueError(f"{name} must not contain derivatives, got {der}")
        if not set(der.variables) <= set(X):
            raise ValueError(
                f"{name} may differentiate only in {tuple(X)}, got {der}")


# --------------------------------------------------------------------------
# energies
# --------------------------------------------------------------------------
class Energy:
    """Base class: an energy of a density, which can be added and scaled."""

    dim = 1
    name = "f"

    def __add__(self, other):
        if not isinstance(other, Energy):
            return NotImplemented
        return SumEnergy([(1, self), (1, other)])

    def __radd__(self, other):  # so that sum([...]) works
        if other == 0:
            return self
        return NotImplemented

    def __mul__(self, c):
        c = _as_expr("the factor", c)
        return SumEnergy([(c, self)])

    __rmul__ = __mul__

    def terms(self):
        """The list of ``(coefficient, elementary energy)`` pairs."""
        return [(sp.Integer(1), self)]

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


class LocalEnergy(Energy):
    r"""A local energy :math:`f(\rho) = \int L(x, \rho(x), \nabla\rho(x), \dots)\, dx`.

    Parameters
    ----------
    integrand : sympy expression
        ``L`` written with ``rho(*X)`` (``X`` the coordinates of
        :func:`coordinates`) and its derivatives in ``X``.
    dim : int
        The space dimension ``d``.
    name : str, optional
        A label.

    Raises
    ------
    TypeError, ValueError
        When ``integrand`` is not a sympy expression, contains an integral,
        another unknown function, or ``rho`` at another point.
    """

    def __init__(self, integrand, dim=1, name=None):
        self.dim = checks.integer("dim", dim, minimum=1)
        self.X, self.Y = coordinates(self.dim)
        self.integrand = _as_expr("integrand", integrand)
        _check_local("integrand", self.integrand, self.X)
        self.name = name or f"int {self.integrand} dx"


class InteractionEnergy(Energy):
    r"""The interaction energy :math:`f(\rho) = \iint k(x, y)\,\rho(x)\rho(y)\,dx\,dy`.

    Parameters
    ----------
    k : sympy expression
        The kernel in the coordinates ``X`` and ``Y`` of :func:`coordinates`;
        it need not be symmetric.
    dim : int
        The space dimension.
    """

    def __init__(self, k, dim=1, name=None):
        self.dim = checks.integer("dim", dim, minimum=1)
        self.X, self.Y = coordinates(self.dim)
        self.k = _as_expr("k", k)
        if self.k.has(rho, eta, sp.Integral):
            raise ValueError(
                f"k must be an explicit kernel in {self.X} and {self.Y}, got {self.k}; "
                "a kernel holding rho or an integral is an unsupported form")
        self.name = name or f"iint {self.k} rho(x) rho(y)"


class SumEnergy(Energy):
    """A linear combination of elementary energies (made by ``+`` and ``*``)."""

    def __init__(self, pairs):
        flat = []
        for c, energy in pairs:
            for c2, elementary in energy.terms():
                flat.append((sp.sympify(c) * c2, elementary))
        dims = {e.dim for _, e in flat}
        if len(dims) != 1:
            raise ValueError(f"the energies of a sum must share one dimension, got {sorted(dims)}")
        self.dim = dims.pop()
        self._pairs = flat
        self.name = " + ".join(
            (e.name if c == 1 else f"{c}*({e.name})") for c, e in flat)

    def terms(self):
        return list(self._pairs)


def potential(V, dim=1):
    r"""The potential energy :math:`\int V(x)\rho(x)\,dx`, with ``V`` in the coordinates ``X``.

    Examples
    --------
    >>> first_variation(potential(x**2)).expr
    x**2
    """
    V = _as_expr("V", V)
    X, _ = coordinates(dim)
    _check_local("V", V, X, allow_derivatives=False)
    if V.has(rho):
        raise ValueError(f"V must not depend on rho, got {V}")
    return LocalEnergy(V * rho(*X), dim, name=f"int ({V}) rho dx")


def internal(U, s, dim=1):
    r"""The internal energy :math:`\int U(\rho(x))\,dx` for ``U`` an expression in the symbol ``s``.

    Examples
    --------
    >>> s = sp.Symbol("s", positive=True)
    >>> first_variation(internal(s**2, s)).expr
    2*rho(x)
    """
    U = _as_expr("U", U)
    if not isinstance(s, sp.Symbol):
        raise TypeError(f"s must be a sympy Symbol (the variable of U), got {s!r}")
    X, _ = coordinates(dim)
    other = U.free_symbols & set(X)
    if other:
        raise ValueError(f"U must depend on s only (no space variable), got {U}")
    return LocalEnergy(U.subs(s, rho(*X)), dim, name=f"int U(rho) dx, U(s) = {U}")


def relative_entropy(nu, dim=1):
    r"""The relative entropy :math:`\mathrm{KL}(\alpha|\nu) = \int \rho \log(\rho/\nu)\,dx`.

    ``nu`` is the density of the reference measure, an expression in ``X``.
    """
    nu = _as_expr("nu", nu)
    X, _ = coordinates(dim)
    _check_local("nu", nu, X, allow_derivatives=False)
    if nu.has(rho):
        raise ValueError(f"nu must not depend on rho, got {nu}")
    r = rho(*X)
    return LocalEnergy(r * sp.log(r / nu), dim, name=f"KL(rho | {nu})")


def interaction(k, dim=1):
    r"""The interaction energy :math:`\iint k(x,y)\rho(x)\rho(y)\,dx\,dy` (see :class:`InteractionEnergy`)."""
    return InteractionEnergy(k, dim)


def local(integrand, dim=1):
    r"""A local energy :math:`\int L\,dx` (see :class:`LocalEnergy`), e.g. :math:`\int |\rho'|^2`."""
    return LocalEnergy(integrand, dim)


# --------------------------------------------------------------------------
# the derivation
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FirstVariation:
    r"""The first variation of an energy, its Wasserstein gradient and its PDE.

    Attributes
    ----------
    energy : Energy
        The energy that was differentiated.
    local : sympy expression
        The part of :math:`\frac{\delta f}{\delta\rho}(x)` that depends on
        :math:`\rho` and its derivatives at ``x``.
    nonlocal_integrand : sympy expression
        ``g(x, y)`` such that the rest of the first variation is
        :math:`\int g(x, y)\, dy` (zero when there is no interaction term).
    X, Y : tuple of sympy symbols
        The coordinates.
    up_to_constant : bool
        Always True: the first variation is defined up to an additive
        constant (see :attr:`note`).
    note : str
        The explanation of that remark.
    """

    energy: Energy
    local: sp.Expr
    nonlocal_integrand: sp.Expr
    X: tuple
    Y: tuple
    up_to_constant: bool = True
    note: str = field(default=NOTE)

    @property
    def expr(self):
        r""":math:`\frac{\delta f}{\delta\rho}(x)` as one sympy expression (integrals unevaluated)."""
        if self.nonlocal_integrand == 0:
            return self.local
        limits = [(v, -sp.oo, sp.oo) for v in self.Y]
        return self.local + sp.Integral(self.nonlocal_integrand, *limits)

    @property
    def wasserstein_gradient(self):
        r""":math:`\nabla_{\mathcal W} f(x) = \nabla \frac{\delta f}{\delta\rho}(x)`, a tuple of ``d`` expressions."""
        return tuple(sp.diff(self.expr, v) for v in self.X)

    @property
    def velocity(self):
        r"""The velocity of the gradient flow, :math:`v = -\nabla_{\mathcal W} f`."""
        return tuple(-g for g in self.wasserstein_gradient)

    @cached_property
    def pde_rhs(self):
        r""":math:`\operatorname{div}(\rho \nabla \frac{\delta f}{\delta\rho})`, the right side of :math:`\partial_t\rho = \dots`."""
        r = rho(*self.X)
        total = sum(sp.diff(r * g, v) for g, v in zip(self.wasserstein_gradient, self.X))
        return sp.expand(total)  # expanding cancels the log-derivative terms; simplify is slow here

    @property
    def pde(self):
        r"""The gradient-flow PDE :math:`\partial_t \rho = \operatorname{div}(\rho\nabla\frac{\delta f}{\delta\rho})` as a sympy ``Eq``."""
        t = sp.Symbol("t", nonnegative=True)
        rt = sp.Function("rho")(t, *self.X)
        rhs = self.pde_rhs.replace(rho, sp.Lambda(self.X, rt))
        return sp.Eq(sp.Derivative(rt, t), rhs)

    @property
    def dim(self):
        return len(self.X)

    def at(self, density):
        r"""The first variation at a concrete density (an expression in ``X``), integrals done.

        Examples
        --------
        >>> fv = first_variation(interaction(x * y))
        >>> fv.at(sp.exp(-(x - 1)**2 / 2) / sp.sqrt(2 * sp.pi))
        2*x
        """
        return _evaluate(self.expr, density, self.X, self.Y)

    def at_empirical(self, points):
        r"""The first variation at an empirical measure :math:`\frac1n\sum_j \delta_{p_j}`.

        .. math::

            \frac{\delta f}{\delta\rho}(x) = \frac1n \sum_j g(x, p_j)
            \quad\text{where}\quad \int g(x, y)\,\rho(y)\,dy

        is the interaction part. Only energies without a local part in
        :math:`\rho` (potentials and interactions) are finite at an empirical
        measure.

        Parameters
        ----------
        points : sequence
            The positions :math:`p_j` (sympy expressions; tuples of ``d`` of
            them in dimension ``d``).

        Raises
        ------
        ValueError
            When the first variation depends on :math:`\rho(x)` itself (an
            internal energy, infinite at an empirical measure), or when
            ``points`` is empty.

        Examples
        --------
        >>> p = sp.symbols("p1:3")
        >>> first_variation(interaction(x * y)).at_empirical(p)
        p1*x + p2*x
        """
        points = list(points)
        if not points:
            raise ValueError("points must hold at least one position, got none")
        if self.local.has(rho):
            raise ValueError(
                f"the first variation {self.local} depends on the density itself: an "
                "internal energy is infinite at an empirical measure (regularise it, "
                "e.g. with BlobEntropy)")
        total = self.local
        if self.nonlocal_integrand != 0:
            r_y = sp.Dummy("ry")
            g = self.nonlocal_integrand.subs(rho(*self.Y), r_y)
            kernel = sp.diff(g, r_y)
            n = len(points)
            for p in points:
                p = tuple(p) if isinstance(p, (tuple, list)) else (p,)
                if len(p) != self.dim:
                    raise ValueError(f"each point must have {self.dim} coordinates, got {p}")
                total += kernel.subs(dict(zip(self.Y, p)), simultaneous=True) / n
        return total

    def equals_up_to_constant(self, other, density=None):
        """True when ``self.expr - other`` has zero gradient (after substituting ``density``)."""
        diff = self.expr - _as_expr("other", other)
        if density is not None:
            diff = _evaluate(diff, density, self.X, self.Y)
        return all(sp.simplify(sp.diff(diff, v)) == 0 for v in self.X)


def _substitute(expr, density, X, Y):
    """Replace the unknown rho by the concrete ``density`` (an expression in X)."""
    density = _as_expr("density", density)
    return expr.replace(rho, sp.Lambda(tuple(X), density))


def _evaluate(expr, density, X, Y):
    """Substitute ``density`` and do every integral (integrands expanded first) and derivative."""
    expr = _substitute(expr, density, X, Y)
    expr = expr.replace(lambda e: isinstance(e, sp.Integral),
                        lambda e: sp.integrate(sp.expand(e.function.doit()), *e.limits))
    return sp.simplify(expr.doit().rewrite(sp.erf))  # erf + erfc = 1 for Gaussian integrals


def _local_variation(integrand, X):
    """delta f of int L dx: d/dt at 0, then integrate the eta-derivatives by parts."""
    t = sp.Dummy("t")
    moved = integrand.replace(rho, sp.Lambda(tuple(X), rho(*X) + t * eta(*X)))
    d = sp.diff(moved, t).subs(t, 0).doit()
    slots = {eta(*X): (sp.Dummy("e"), ())}
    for der in d.atoms(sp.Derivative):
        if der.expr == eta(*X):
            slots[der] = (sp.Dummy("e"), der.variable_count)
    linear = d.subs({k: s for k, (s, _) in slots.items()})
    result = sp.Integer(0)
    for s, counts in slots.values():
        coefficient = sp.diff(linear, s)
        order = sum(c for _, c in counts)
        term = coefficient
        for v, c in counts:
            term = sp.diff(term, v, c)
        result += (-1) ** order * term
    return sp.simplify(result)


def _interaction_variation(k, X, Y):
    """delta f of iint k rho rho: d/dt at 0, then swap x and y in the term with eta(y)."""
    t = sp.Dummy("t")
    integrand = k * rho(*X) * rho(*Y)
    moved = integrand.replace(rho, lambda *a: rho(*a) + t * eta(*a))
    d = sp.expand(sp.diff(moved, t).subs(t, 0))
    ex, ey = sp.Dummy("ex"), sp.Dummy("ey")
    d = d.subs({eta(*X): ex, eta(*Y): ey})
    at_x = sp.diff(d, ex)               # multiplies eta(x): integrate over y
    at_y = sp.diff(d, ey)               # multiplies eta(y): integrate over x ...
    swap = {**dict(zip(X, Y)), **dict(zip(Y, X))}
    at_y = at_y.subs(swap, simultaneous=True)  # ... so rename x <-> y
    return sp.factor_terms(sp.expand(at_x + at_y))


def first_variation(energy):
    r"""The first variation of ``energy``, derived from its definition.

    .. math::

        \frac{d}{dt} f(\rho + t\eta)\Big|_{t=0}
        = \int \frac{\delta f}{\delta\rho}(x)\,\eta(x)\,dx,
        \qquad \int\eta = 0.

    Parameters
    ----------
    energy : Energy
        Made with :func:`potential`, :func:`internal`,
        :func:`relative_entropy`, :func:`interaction`, :func:`local`, or a
        sum/multiple of these.

    Returns
    -------
    FirstVariation
        With the Wasserstein gradient and the PDE as properties; defined up
        to an additive constant (``up_to_constant`` is True).

    Raises
    ------
    TypeError
        When ``energy`` is not an :class:`Energy` (an unsupported form).

    References
    ----------
    santambrogio2015, section 7.2.

    Examples
    --------
    >>> first_variation(potential(x**2)).expr
    x**2
    >>> first_variation(relative_entropy(sp.Integer(1))).expr
    log(rho(x)) + 1
    """
    if not isinstance(energy, Energy):
        raise TypeError(
            "energy must be an Energy made by potential, internal, relative_entropy, "
            f"interaction or local (or a sum of these), got {energy!r}")
    X, Y = coordinates(energy.dim)
    loc, nonloc = sp.Integer(0), sp.Integer(0)
    for c, term in energy.terms():
        if isinstance(term, LocalEnergy):
            loc += c * _local_variation(term.integrand, X)
        elif isinstance(term, InteractionEnergy):
            nonloc += c * _interaction_variation(term.k, X, Y)
        else:  # pragma: no cover - every Energy built here is one of the two
            raise TypeError(f"unsupported energy term {term!r}")
    return FirstVariation(energy, sp.simplify(loc), nonloc, X, Y)


def display_form(expr):
    r"""A shorter version of ``expr`` for printing: :math:`\rho(x) \to \rho`, :math:`\partial_x^k\rho \to \rho^{(k)}`.

    In one dimension ``rho(x)`` becomes :math:`\rho`, its derivatives
    :math:`\rho', \rho'', \rho^{(3)}, \dots`, ``rho(y)`` stays, and a derivative
    of a given function ``W`` evaluated at a point becomes ``W'(point)``.
    Only for display: the result is not meant for further computation.

    Examples
    --------
    >>> display_form(rho(x).diff(x, 2) + rho(x))
    \rho + \rho''
    """
    expr = _as_expr("expr", expr)
    names = {1: "'", 2: "''"}
    for der in sorted(expr.atoms(sp.Derivative), key=lambda d: -d.derivative_count):
        if der.expr == rho(x) and set(der.variables) == {x}:
            k = der.derivative_count
            expr = expr.subs(der, sp.Symbol(r"\rho" + names.get(k, f"^{{({k})}}")))
    for sub in expr.atoms(sp.Subs):
        inner = sub.expr
        if (isinstance(inner, sp.Derivative) and len(sub.variables) == 1
                and isinstance(inner.expr, sp.core.function.AppliedUndef)
                and inner.derivative_count == 1):
            prime = sp.Function(inner.expr.func.__name__ + "'")
            expr = expr.subs(sub, prime(*sub.point))
    return expr.subs(rho(x), sp.Symbol(r"\rho"))


def to_latex(lhs, expr, terms_per_line=2):
    r"""LaTeX for ``lhs = expr`` with :func:`display_form`, breaking long sums over lines.

    Parameters
    ----------
    lhs : str
        The left side, in LaTeX.
    expr : sympy expression
    terms_per_line : int
        How many terms of the sum go on one line, >= 1.

    Examples
    --------
    >>> to_latex("f", x + 1, terms_per_line=1)
    '\\begin{aligned} f &= x \\\\ &\\quad + 1 \\end{aligned}'
    """
    terms_per_line = checks.integer("terms_per_line", terms_per_line, minimum=1)
    shown = sp.sympify(display_form(expr))
    terms = [sp.latex(t) for t in (shown.as_ordered_terms() if shown.is_Add else [shown])]
    pieces = [terms[0]] + [t if t.startswith("-") else "+ " + t for t in terms[1:]]
    lines = [" ".join(pieces[i:i + terms_per_line]) for i in range(0, len(pieces), terms_per_line)]
    body = r" \\ &\quad ".join(lines)
    return rf"\begin{{aligned}} {lhs} &= {body} \end{{aligned}}"


# --------------------------------------------------------------------------
# dissipation along the flow
# --------------------------------------------------------------------------
def _integrate_all(expr, X):
    for v in X:
        expr = sp.integrate(expr, (v, -sp.oo, sp.oo))
    return sp.simplify(expr)


def dissipation(fv, density):
    r"""The dissipation :math:`\int |\nabla_{\mathcal W} f|^2 \rho\,dx` at a concrete density.

    Along the gradient flow, :math:`\frac{d}{dt} f(\rho_t) = -\int
    |\nabla_{\mathcal W} f(\rho_t)|^2 \rho_t\,dx`. ``density`` is a sympy
    expression in the coordinates (for example a Gaussian with symbolic
    mean and width); sympy does the integrals.
    """
    grads = [_evaluate(g, density, fv.X, fv.Y) for g in fv.wasserstein_gradient]
    return _integrate_all(sp.expand(density * sum(g ** 2 for g in grads)), fv.X)


def rate_along_flow(fv, density):
    r"""The rate :math:`\frac{d}{dt} f = \int \frac{\delta f}{\delta\rho}\,\partial_t\rho\,dx` at ``density``.

    Computed from the chain rule with :math:`\partial_t\rho` the right side
    of the PDE, without integrating by parts; it should equal
    ``-dissipation(fv, density)``.
    """
    first = _evaluate(fv.expr, density, fv.X, fv.Y)
    rhs = _evaluate(fv.pde_rhs, density, fv.X, fv.Y)
    return _integrate_all(sp.expand(first * rhs), fv.X)


# --------------------------------------------------------------------------
# numerical checks by quadrature (1D)
# --------------------------------------------------------------------------
def _points(points):
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 1 or len(pts) < 2 or not np.isfinite(pts).all():
        raise ValueError(
            f"points must be a finite 1D array of at least 2 quadrature nodes, got {checks._show(points)}")
    return pts


def _lambdify(expr, symbols):
    return sp.lambdify(symbols, expr, modules="numpy")


def evaluate_energy(energy, density, points):
    r"""The value of a 1D ``energy`` at a concrete ``density``, by the trapezoidal rule on ``points``.

    Interaction terms use the tensor grid ``points x points``. This
    evaluation never differentiates, so it checks the symbolic first
    variation independently (see :func:`directional_derivative`).
    """
    if energy.dim != 1:
        raise ValueError(f"evaluate_energy works in dimension 1, got an energy of dimension {energy.dim}")
    pts = _points(points)
    density = _as_expr("density", density)
    total = 0.0
    for c, term in energy.terms():
        if isinstance(term, LocalEnergy):
            expr = _substitute(term.integrand, density, (x,), (y,)).doit()
            values = np.broadcast_to(_lambdify(expr, [x])(pts), pts.shape)
            total += float(c) * np.trapezoid(values, pts)
        else:
            expr = term.k * density * density.subs(x, y)
            values = _lambdify(expr, [x, y])(pts[:, None], pts[None, :])
            values = np.broadcast_to(values, (len(pts), len(pts)))
            total += float(c) * np.trapezoid(np.trapezoid(values, pts, axis=1), pts)
    return float(total)


def evaluate_variation(fv, density, points):
    r"""The values of a 1D first variation at a concrete ``density`` on ``points`` (quadrature in ``y``)."""
    if fv.dim != 1:
        raise ValueError(f"evaluate_variation works in dimension 1, got dimension {fv.dim}")
    pts = _points(points)
    density = _as_expr("density", density)
    loc = _substitute(fv.local, density, (x,), (y,)).doit()
    values = np.array(np.broadcast_to(_lambdify(loc, [x])(pts), pts.shape), dtype=float)
    if fv.nonlocal_integrand != 0:
        g = _substitute(fv.nonlocal_integrand, density, (x,), (y,)).doit()
        G = np.broadcast_to(_lambdify(g, [x, y])(pts[:, None], pts[None, :]), (len(pts), len(pts)))
        values = values + np.trapezoid(G, pts, axis=1)
    return values


def directional_derivative(energy, density, direction, points, h=1e-4):
    r"""Finite-difference and predicted directional derivatives of a 1D energy.

    .. math::

        \frac{f(\rho + h\eta) - f(\rho - h\eta)}{2h}
        \quad\text{against}\quad
        \int \frac{\delta f}{\delta\rho}(\rho)\, \eta\, dx,

    both by the trapezoidal rule on ``points``.

    Parameters
    ----------
    energy : Energy
    density, direction : sympy expressions in ``x``
        :math:`\rho` and :math:`\eta`; :math:`\eta` must have zero mass
        (checked numerically) and :math:`\rho \pm h\eta` must stay in the
        domain of the energy (positive for logarithms).
    points : array_like, shape (m,)
        Quadrature nodes covering the supports.
    h : float
        The finite-difference step.

    Returns
    -------
    (float, float)
        The finite difference and the prediction of the first variation.

    Raises
    ------
    ValueError
        When ``direction`` does not have zero mass on ``points``.
    """
    h = checks.positive_number("h", h)
    pts = _points(points)
    direction = _as_expr("direction", direction)
    eta_values = np.broadcast_to(_lambdify(direction, [x])(pts), pts.shape)
    mass = np.trapezoid(eta_values, pts)
    scale = np.trapezoid(np.abs(eta_values), pts)
    if abs(mass) > 1e-8 * max(scale, 1.0):
        raise ValueError(
            f"direction must have zero mass (it is a difference of two probability "
            f"densities), got mass {mass:.3g}")
    density = _as_expr("density", density)
    plus = evaluate_energy(energy, density + h * direction, pts)
    minus = evaluate_energy(energy, density - h * direction, pts)
    fv = first_variation(energy)
    predicted = np.trapezoid(evaluate_variation(fv, density, pts) * eta_values, pts)
    return (plus - minus) / (2 * h), float(predicted)


# --------------------------------------------------------------------------
# a particle method for the entropy
# --------------------------------------------------------------------------
class BlobEntropy:
    r"""The blob regularisation of the entropy :math:`\int\rho\log\rho`, for particles.

    .. math::

        F_\varepsilon(\alpha) = \int \log\big((\varphi_\varepsilon * \alpha)(x)\big)\, d\alpha(x),
        \qquad \varphi_\varepsilon(z) = (2\pi\varepsilon^2)^{-d/2} e^{-|z|^2/(2\varepsilon^2)}.

    For :math:`\alpha = \frac1n\sum_j\delta_{x_j}`, with
    :math:`\varphi_{ij} = \varphi_\varepsilon(x_i - x_j)` and
    :math:`s_i = \frac1n\sum_j \varphi_{ij}` (a kernel density estimate),
    its Wasserstein gradient at the particles is

    .. math::

        \nabla_{\mathcal W} F_\varepsilon(\alpha)(x_i)
        = \frac{1}{n\varepsilon^2} \sum_j \varphi_{ij}\,(x_j - x_i)
        \Big(\frac{1}{s_i} + \frac{1}{s_j}\Big),

    an estimated score :math:`\nabla\log\rho` corrected so that the
    particle system is an exact gradient flow. Its flow approximates the
    heat equation as :math:`\varepsilon \to 0`. It has the interface of the
    energies of :mod:`lecture_code.particles` (``value``,
    ``wasserstein_gradient``, ``+``), so it runs with
    :func:`lecture_code.particles.particle_descent`.

    Parameters
    ----------
    eps : float
        The blob width :math:`\varepsilon > 0`.

    References
    ----------
    carrillo2019blob.

    Examples
    --------
    >>> import numpy as np
    >>> blob = BlobEntropy(0.5)
    >>> blob.wasserstein_gradient(np.zeros((3, 1)))  # no spread, no force
    array([[0.],
           [0.],
           [0.]])
    """

    def __init__(self, eps):
        self.eps = checks.positive_number("eps", eps)
        self.name = f"blob entropy (eps={self.eps:g})"

    def _phi(self, X):
        d = X.shape[1]
        sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
        return np.exp(-sq / (2 * self.eps ** 2)) / (2 * np.pi * self.eps ** 2) ** (d / 2)

    def value(self, X):
        r""":math:`F_\varepsilon(\alpha_n) = \frac1n\sum_i \log s_i`."""
        X = checks.particles("X", X)
        return float(np.log(self._phi(X).mean(1)).mean())

    def wasserstein_gradient(self, X):
        r"""The gradient above at each particle, shape ``(n, d)``."""
        X = checks.particles("X", X)
        n = len(X)
        phi = self._phi(X)
        s = phi.mean(1)
        W = phi * (1 / s[:, None] + 1 / s[None, :])
        return (W @ X - X * W.sum(1, keepdims=True)) / (n * self.eps ** 2)

    def __add__(self, other):
        from .particles import SumEnergy

        return SumEnergy(self, other)

    __radd__ = __add__
