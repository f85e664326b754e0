"""One animation helper for every flow in the book.

:func:`animate_flow` takes a function that computes the frames of a flow
from its parameters, and a function that draws a frame. What it shows
depends on where it runs:

* in a live notebook (JupyterLab, a JupyterHub, Binder, Colab): the picture
  with widget controls, a play button, a time slider, and one control per
  parameter of the flow; changing a parameter recomputes the flow;
* in the static HTML book: an animation that plays in the browser without a
  kernel (matplotlib's JavaScript player), and a line naming the parameter
  values used, with no control that looks live but does nothing.

Example
-------
>>> import numpy as np
>>> def simulate(rate):
...     return np.exp(-rate * np.linspace(0, 1, 5))
>>> def draw(fig, frames):
...     ax = fig.add_subplot()
...     (line,) = ax.plot([0], [frames[0]], "o")
...     return lambda i: line.set_data([i], [frames[i]])
>>> flow = animate_flow(simulate, draw, {"rate": Slider(1.0, 0.1, 5.0, 0.1)})
>>> len(flow.frames)
5
"""

import io
import math
import os
import tempfile
import numbers
import re
from dataclasses import dataclass

import matplotlib
from matplotlib.animation import HTMLWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import checks
from .book_build import is_static_build

__all__ = ["Slider", "Choice", "FlowAnimation", "animate_flow", "particle_painter"]


@dataclass(frozen=True)
class Slider:
    """A numeric parameter: its default ``value`` and the range a slider offers.

    All four numbers integers gives an integer slider (a particle count);
    otherwise a float slider. ``log=True`` spaces a float slider
    logarithmically (a step size spanning decades); ``step`` is then ignored.
    """

    value: float
    min: float
    max: float
    step: float
    label: str | None = None
    log: bool = False

    def __post_init__(self):
        for field in ("value", "min", "max", "step"):
            number = getattr(self, field)
            if isinstance(number, bool) or not isinstance(number, numbers.Real):
                raise TypeError(f"Slider {field} must be a number, got {number!r}")
        if not all(math.isfinite(getattr(self, f)) for f in ("value", "min", "max", "step")):
            raise ValueError(f"Slider numbers must be finite, got {self}")
        if self.min >= self.max:
            raise ValueError(f"Slider min must be < max, got min={self.min}, max={self.max}")
        if not self.min <= self.value <= self.max:
            raise ValueError(
                f"Slider value must lie in [min, max] = [{self.min}, {self.max}], "
                f"got {self.value}"
            )
        if self.step <= 0:
            raise ValueError(f"Slider step must be > 0, got {self.step}")
        if not isinstance(self.log, bool):
            raise TypeError(f"Slider log must be True or False, got {self.log!r}")
        if self.log and self.min <= 0:
            raise ValueError(f"a log Slider needs min > 0, got {self.min}")

    @property
    def is_integer(self):
        return all(isinstance(getattr(self, f), numbers.Integral)
                   for f in ("value", "min", "max", "step"))

    def check(self, name, value):
        """Return ``value`` if it is within range, else raise ``ValueError``."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not self.min <= value <= self.max:
            raise ValueError(
                f"{name} must lie in [{self.min}, {self.max}], got {value}"
            )
        if self.is_integer:
            if value != int(value):
                raise ValueError(f"{name} must be a whole number, got {value}")
            return int(value)
        return float(value)


@dataclass(frozen=True)
class Choice:
    """A parameter taking one of a few ``options`` (a kernel, a sampler)."""

    value: object
    options: tuple
    label: str | None = None

    def __post_init__(self):
        if not isinstance(self.options, (tuple, list)) or not self.options:
            raise TypeError(f"Choice options must be a non-empty tuple, got {self.options!r}")
        if self.value not in self.options:
            raise ValueError(
                f"Choice value must be one of {list(self.options)}, got {self.value!r}"
            )

    def check(self, name, value):
        """Return ``value`` if it is one of the options, else raise ``ValueError``."""
        if value not in self.options:
            raise ValueError(f"{name} must be one of {list(self.options)}, got {value!r}")
        return value


class FlowAnimation:
    """Frames of a flow, their drawing, and the two ways of showing them.

    Use :func:`animate_flow` to make one. Attributes: ``frames`` (what
    ``simulate`` returned), ``values`` (the current parameter values),
    ``figure`` (a matplotlib figure not managed by pyplot).
    """

    def __init__(self, simulate, draw, params=None, *, figsize=(5.0, 4.0),
                 dpi=80, interval=80, mode="auto"):
        self._simulate = checks.is_callable("simulate", simulate)
        self._draw = checks.is_callable("draw", draw)
        self.params = dict(params or {})
        for name, spec in self.params.items():
            if not isinstance(spec, (Slider, Choice)):
                raise TypeError(
                    f"params[{name!r}] must be a Slider or a Choice, got {spec!r}"
                )
        if mode not in ("auto", "live", "static"):
            raise ValueError(f"mode must be 'auto', 'live' or 'static', got {mode!r}")
        self.mode = mode
        self.interval = checks.integer("interval", interval, minimum=1)
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.values = {name: spec.value for name, spec in self.params.items()}
        self._recompute()

    # -- computing and drawing -------------------------------------------
    def _recompute(self):
        frames = self._simulate(**self.values)
        try:
            count = len(frames)
        except TypeError:
            raise TypeError(
                f"simulate must return a sequence of frames (with a length), "
                f"got {type(frames).__name__}"
            ) from None
        if count == 0:
            raise ValueError("simulate returned no frames; it must return at least one")
        self.frames = frames
        self.figure.clear()
        self._set_animated(False)
        self._animated, self._background = [], None
        self._update = checks.is_callable("the function returned by draw",
                                          self._draw(self.figure, frames))
        self.show_frame(0)

    def set_params(self, **changes):
        """Change parameters (checked against their controls) and recompute."""
        for name, value in changes.items():
            if name not in self.params:
                raise ValueError(
                    f"unknown parameter {name!r}; this flow has {sorted(self.params)}"
                )
            changes[name] = self.params[name].check(name, value)
        previous = dict(self.values)
        self.values.update(changes)
        try:
            self._recompute()
        except Exception:
            # Nothing half-done: back to the previous parameters and frames.
            self.values = previous
            self._recompute()
            raise

    def show_frame(self, i):
        """Draw frame ``i`` (0 <= i < len(frames)) on the figure."""
        i = checks.integer("i", i, minimum=0, maximum=len(self.frames) - 1)
        changed = self._update(i)
        self.current = i
        return list(changed) if changed else []

    def _set_animated(self, flag):
        for artist in getattr(self, "_animated", []):
            artist.set_animated(flag)

    def render(self, i):
        """Draw frame ``i`` into the figure's pixel buffer.

        When ``update`` returns the artists it changed, only those are
        redrawn over a saved background (blitting): a redraw then costs the
        changed artists, not the axes, ticks and labels.
        """
        changed = self.show_frame(i)
        canvas = self.figure.canvas
        if not changed:
            canvas.draw()
            return
        if self._background is None or changed != self._animated:
            self._set_animated(False)
            self._animated = changed
            self._set_animated(True)
            canvas.draw()
            self.figure.set_layout_engine("none")  # freeze the layout under the background
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        canvas.restore_region(self._background)
        for artist in changed:
            self.figure.draw_artist(artist)

    def frame_png(self, i):
        """Draw frame ``i`` and return it as PNG bytes (fast, low compression)."""
        from PIL import Image

        self.render(i)
        canvas = self.figure.canvas
        image = Image.frombuffer("RGBA", canvas.get_width_height(),
                                 canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    # -- the static book ---------------------------------------------------
    def to_jshtml(self, embed_limit_mb=20):
        """All frames as a self-contained HTML/JavaScript player."""
        self._set_animated(False)  # savefig leaves animated artists out
        self._background = None
        self.figure.canvas.draw()
        self.figure.set_layout_engine("none")  # lay out once, not once per frame
        # The writer behind FuncAnimation.to_jshtml, driven directly: an
        # Animation object would stay hooked to the canvas's draw events.
        writer = HTMLWriter(fps=1000 / self.interval, embed_frames=True,
                            default_mode="loop")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "animation.html")
            with matplotlib.rc_context({"animation.embed_limit": embed_limit_mb}):
                with writer.saving(self.figure, path, dpi=self.figure.dpi):
                    for i in range(len(self.frames)):
                        self.show_frame(i)
                        writer.grab_frame()
            with open(path, encoding="utf-8") as file:
                html = file.read()
        self.show_frame(0)
        # matplotlib links Font Awesome 4 from a CDN for the player's icons;
        # the book's theme serves Font Awesome itself, so drop the outside link.
        return _CDN_LINK.sub("", html)

    def parameter_line(self):
        """A sentence naming the parameter values the frames were computed with."""
        if not self.values:
            return ""
        parts = []
        for name, value in self.values.items():
            label = self.params[name].label or name
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            parts.append(f"{label} = {shown}")
        return ("Computed with " + ", ".join(parts)
                + ". Run this chapter as a notebook to change them.")

    # -- the live notebook -------------------------------------------------
    def widget(self):
        """The picture with play, time and parameter controls (ipywidgets)."""
        import ipywidgets as widgets

        last = len(self.frames) - 1
        image = widgets.Image(value=self.frame_png(0), format="png")
        play = widgets.Play(value=0, min=0, max=last, interval=self.interval,
                            description="play")
        time = widgets.IntSlider(value=0, min=0, max=last, description="frame",
                                 continuous_update=True)
        widgets.jslink((play, "value"), (time, "value"))
        time.observe(lambda change: setattr(image, "value", self.frame_png(change["new"])),
                     names="value")
        controls = []
        for name, spec in self.params.items():
            control = _control(name, spec)
            control.observe(self._on_param(name, image, play, time), names="value")
            controls.append(control)
        return widgets.VBox([image, widgets.HBox([play, time]), *controls])

    def _on_param(self, name, image, play, time):
        def handler(change):
            self.set_params(**{name: change["new"]})
            last = len(self.frames) - 1
            play.max = time.max = last
            time.value = 0
            image.value = self.frame_png(0)
        return handler

    def _ipython_display_(self):
        from IPython.display import HTML, display

        static = self.mode == "static" or (self.mode == "auto" and is_static_build())
        if static:
            line = self.parameter_line()
            caption = f"<p><em>{line}</em></p>" if line else ""
            display(HTML(self.to_jshtml() + caption))
        else:
            display(self.widget())


_CDN_LINK = re.compile(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*>")


def _control(name, spec):
    """The ipywidgets control for one parameter."""
    import ipywidgets as widgets

    label = spec.label or name
    style = {"description_width": "initial"}
    if isinstance(spec, Choice):
        return widgets.Dropdown(options=list(spec.options), value=spec.value,
                                description=label, style=style)
    if spec.is_integer:
        return widgets.IntSlider(value=spec.value, min=spec.min, max=spec.max,
                                 step=spec.step, description=label,
                                 continuous_update=False, style=style)
    if spec.log:
        import math

        return widgets.FloatLogSlider(value=spec.value, base=10,
                                      min=math.log10(spec.min), max=math.log10(spec.max),
                                      description=label, continuous_update=False,
                                      style=style)
    return widgets.FloatSlider(value=spec.value, min=spec.min, max=spec.max,
                               step=spec.step, description=label,
                               continuous_update=False, style=style, readout_format=".3g")


def animate_flow(simulate, draw, params=None, **options):
    """Animate a flow: live controls in a notebook, a player in the book.

    Parameters
    ----------
    simulate : callable
        ``simulate(**values)`` returns the frames of the flow: a sequence
        (list or array) with one entry per frame, for the parameter values
        ``values`` (the defaults of ``params`` first, then what the reader
        chooses).
    draw : callable
        ``draw(fig, frames)`` creates the axes and artists on the matplotlib
        figure ``fig`` and returns ``update(i)``, which shows frame ``i`` by
        changing those artists (for example ``scatter.set_offsets``). If
        ``update`` returns the list of artists it changed, live redraws
        only redraw those (blitting), which keeps them fast.
    params : dict of str to Slider or Choice, optional
        The flow's own parameters (particle count, step size, kernel width)
        and the controls that change them.
    **options
        ``figsize`` (inches), ``dpi``, ``interval`` (milliseconds between
        frames), ``mode`` ("auto", "live" or "static"; "auto" is static
        inside the HTML book build and live elsewhere).

    Returns
    -------
    FlowAnimation
        Displaying it (the last expression of a cell) shows the widget or the
        player.

    Raises
    ------
    TypeError, ValueError
        When ``simulate`` or ``draw`` is not callable, a parameter spec is not
        a Slider or a Choice, or ``simulate`` returns no frames.
    """
    return FlowAnimation(simulate, draw, params, **options)


def particle_painter(limits, *, title="", size=6.0, show_energy=True):
    """A ``draw`` function for 2D particle flows (a :class:`~lecture_code.particles.Trajectory`).

    The left panel shows the particles of frame ``i`` and its time, the
    right one the energy along the whole flow with a marker at frame ``i``.

    Parameters
    ----------
    limits : float or (float, float, float, float)
        The square half-width of the view, or ``(xmin, xmax, ymin, ymax)``.
    title : str
        A title prefix for the particle panel.
    size : float
        The marker size of a particle.
    show_energy : bool
        Whether to draw the energy panel.
    """
    if isinstance(limits, numbers.Real):
        limits = (-limits, limits, -limits, limits)
    limits = tuple(limits)
    if len(limits) != 4 or not (limits[0] < limits[1] and limits[2] < limits[3]):
        raise ValueError("limits must be a half-width > 0 or (xmin, xmax, ymin, ymax) "
                         f"with xmin < xmax and ymin < ymax, got {limits}")

    def draw(fig, trajectory):
        X = getattr(trajectory, "X", None)
        if not hasattr(trajectory, "energy") or getattr(X, "ndim", 0) != 3 or X.shape[2] != 2:
            raise TypeError("particle_painter draws a Trajectory of particles in the plane "
                            f"(X of shape (m, n, 2)), got {type(trajectory).__name__}"
                            + (f" with X of shape {X.shape}" if hasattr(X, "shape") else ""))
        clock = "s" if getattr(trajectory, "clock", "measure") == "particles" else "t"
        axes = fig.subplots(1, 2 if show_energy else 1, squeeze=False)[0]
        ax = axes[0]
        ax.set_xlim(limits[0], limits[1])
        ax.set_ylim(limits[2], limits[3])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        cloud = ax.scatter(*trajectory.X[0].T, s=size, color="C0")
        label = ax.set_title("")
        if show_energy:
            axes[1].plot(trajectory.times, trajectory.energy, color="C1")
            axes[1].set_xlabel(f"time ${clock}$")
            axes[1].set_title("energy $f(\\alpha_t)$")
            (marker,) = axes[1].plot([], [], "o", color="C1")

        def update(i):
            cloud.set_offsets(trajectory.X[i])
            label.set_text(f"{title}  ${clock} = {trajectory.times[i]:.2f}$".strip())
            if show_energy:
                marker.set_data([trajectory.times[i]], [trajectory.energy[i]])
                return [cloud, label, marker]
            return [cloud, label]

        return update

    return draw
