"""The animation helper: live widget behaviour, blitting, the static player, bad input."""

import numpy as np
import pytest

from lecture_code.animation import Choice, Slider, animate_flow, particle_painter
from lecture_code.particles import InteractionEnergy, particle_descent, quadratic_kernel


def simulate(n, tau, start="spread"):
    rng = np.random.default_rng(0)
    X0 = rng.normal(size=(n, 2)) * (2.0 if start == "spread" else 0.5)
    return particle_descent(InteractionEnergy(quadratic_kernel()), X0, tau, 20)


PARAMS = {"n": Slider(50, 10, 200, 10), "tau": Slider(0.05, 0.01, 0.1, 0.01),
          "start": Choice("spread", ("spread", "narrow"))}


@pytest.fixture
def flow():
    return animate_flow(simulate, particle_painter(3.0), PARAMS, mode="live")


def test_frames_follow_the_parameters(flow):
    assert flow.frames.X.shape == (21, 50, 2)
    flow.set_params(n=100, start="narrow")
    assert flow.frames.X.shape == (21, 100, 2)
    assert flow.values == {"n": 100, "tau": 0.05, "start": "narrow"}


def test_blitted_frame_equals_a_full_redraw(flow):
    flow.frame_png(0)  # prepares the background
    flow.render(7)
    blitted = np.asarray(flow.figure.canvas.buffer_rgba()).copy()
    flow._set_animated(False)
    flow.show_frame(7)
    flow.figure.canvas.draw()
    full = np.asarray(flow.figure.canvas.buffer_rgba())
    assert np.abs(blitted.astype(int) - full.astype(int)).max() <= 2


def test_live_widget_redraws_on_time_and_recomputes_on_parameters(flow):
    box = flow.widget()
    image, (play, time), *controls = box.children[0], box.children[1].children, *box.children[2:]
    first = image.value
    time.value = 10
    assert image.value != first and flow.current == 10
    n_control = controls[0]
    n_control.value = 120
    assert flow.frames.X.shape[1] == 120
    assert time.value == 0 and play.max == time.max == 20


def test_static_player_is_self_contained(flow):
    html = flow.to_jshtml()
    assert html.count("frames[") >= 21
    assert "http://" not in html and "https://" not in html
    assert "Computed with n = 50, tau = 0.05, start = spread" in flow.parameter_line()


def test_display_picks_the_player_in_the_static_book(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    animate_flow(simulate, particle_painter(3.0), PARAMS, mode="static")._ipython_display_()
    assert type(shown[0]).__name__ == "HTML" and "animation" in shown[0].data
    monkeypatch.setenv("LECTURE_CODE_STATIC_BOOK", "1")
    animate_flow(simulate, particle_painter(3.0), PARAMS)._ipython_display_()
    assert type(shown[1]).__name__ == "HTML"
    monkeypatch.delenv("LECTURE_CODE_STATIC_BOOK")
    animate_flow(simulate, particle_painter(3.0), PARAMS)._ipython_display_()
    assert type(shown[2]).__name__ == "VBox"


def test_bad_input_is_refused(flow):
    with pytest.raises(ValueError, match=r"unknown parameter 'm'; this flow has \['n', 'start', 'tau'\]"):
        flow.set_params(m=3)
    with pytest.raises(ValueError, match=r"tau must lie in \[0.01, 0.1\], got 5"):
        flow.set_params(tau=5)
    with pytest.raises(ValueError, match=r"start must be one of \['spread', 'narrow'\], got 'wide'"):
        flow.set_params(start="wide")
    with pytest.raises(ValueError, match="simulate returned no frames"):
        animate_flow(lambda: [], particle_painter(1.0))
    with pytest.raises(TypeError, match="draw must be callable"):
        animate_flow(lambda: [1], None)
    with pytest.raises(TypeError, match=r"params\['n'\] must be a Slider or a Choice"):
        animate_flow(lambda n: [1], particle_painter(1.0), {"n": (1, 2)})
    with pytest.raises(ValueError, match=r"Slider value must lie in \[min, max\] = \[0, 1\], got 2"):
        Slider(2, 0, 1, 1)
    with pytest.raises(ValueError, match="i must be <= 20, got 21"):
        flow.show_frame(21)


def test_failed_parameter_change_leaves_the_animation_as_it_was():
    def fragile(n):
        if n > 100:
            raise RuntimeError("too many particles for this demo")
        return simulate(n, 0.05)

    flow = animate_flow(fragile, particle_painter(3.0), {"n": Slider(50, 10, 200, 10)}, mode="live")
    with pytest.raises(RuntimeError, match="too many"):
        flow.set_params(n=150)
    assert flow.values == {"n": 50} and flow.frames.X.shape[1] == 50
    assert "n = 50" in flow.parameter_line()
    assert flow.frame_png(3)[:4] == b"\x89PNG"


def test_slider_and_painter_checks():
    with pytest.raises(ValueError, match="n must be a whole number, got 5.9"):
        Slider(50, 1, 100, 1).check("n", 5.9)
    with pytest.raises(ValueError, match="Slider min must be < max"):
        Slider(1, 2, 0, 1)
    with pytest.raises(TypeError, match="Choice options must be a non-empty tuple"):
        Choice("ab", "abc")
    with pytest.raises(ValueError, match="limits must be"):
        particle_painter((1, 2))
    with pytest.raises(TypeError, match=r"X of shape \(m, n, 2\)"):
        animate_flow(lambda: [1, 2], particle_painter(1.0))
