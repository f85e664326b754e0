"""Speed of the particles chapter's hot spots, against baselines measured in the same run.

Prints, for n = 1000, 2000, 4000 particles in 2D with a Gaussian kernel:
the time of one interaction-gradient evaluation (lecture_code), of a plain
broadcasting version on (n, n, d) arrays, and of one numpy.exp over an
(n, n) array, the floor that any exact O(n^2) method pays. Then the time of
one live redraw of an animation frame at n = 1000.

Goals: at most 2x the floor and at least 10x faster than broadcasting at
n = 2000; a live redraw well under 50 ms.
"""

import time

import numpy as np

from lecture_code.animation import animate_flow, particle_painter
from lecture_code.particles import (GaussianKernel, InteractionEnergy,
                                    interaction_gradient_broadcast, particle_descent)


def best_time(function, repeats=5):
    """The best wall-clock time of several calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def gradient_figures():
    kernel = GaussianKernel(0.5)
    rng = np.random.default_rng(0)
    print(f"{'n':>6} {'ours ms':>9} {'broadcast ms':>13} {'exp floor ms':>13}"
          f" {'ours/floor':>11} {'broadcast/ours':>15}")
    for n in (1000, 2000, 4000):
        X = rng.normal(size=(n, 2))
        A = -rng.random((n, n))
        out = np.empty_like(A)
        ours = best_time(lambda: kernel.interaction_gradient(X))
        broadcast = best_time(lambda: interaction_gradient_broadcast(kernel, X), repeats=2)
        floor = best_time(lambda: np.exp(A, out=out))
        print(f"{n:>6} {1e3 * ours:>9.2f} {1e3 * broadcast:>13.1f} {1e3 * floor:>13.2f}"
              f" {ours / floor:>11.2f} {broadcast / ours:>15.1f}")


def redraw_figures(n=1000, frames=40):
    rng = np.random.default_rng(1)
    energy = InteractionEnergy(GaussianKernel(0.3, sign=-1))
    trajectory = particle_descent(energy, rng.uniform(-1.5, 1.5, (n, 2)), 0.02, frames - 1)
    flow = animate_flow(lambda: trajectory, particle_painter(1.7), figsize=(7, 3), dpi=72,
                        mode="live")
    flow.frame_png(0)  # the first frame also draws the static background
    times = []
    for i in range(1, frames):
        start = time.perf_counter()
        flow.frame_png(i)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    flow.show_frame(5)
    flow.figure.canvas.draw()
    full = time.perf_counter() - start
    print(f"live redraw of a frame with n = {n} particles (render + PNG): "
          f"median {1e3 * np.median(times):.1f} ms, worst {1e3 * max(times):.1f} ms; "
          f"a full canvas redraw without blitting: {1e3 * full:.1f} ms")


if __name__ == "__main__":
    gradient_figures()
    redraw_figures()
