"""Plotting plumbing of the diffusion-models chapter (figures and animations).

Nothing here computes anything the chapter discusses: the flows come from
:mod:`lecture_code.diffusion`; these functions draw them.
"""

import numpy as np

from . import checks
from .animation import Choice, Slider, animate_flow
from .diffusion import SAMPLERS, GaussianMixture, generate, ou_path

__all__ = ["density_image", "show_density", "forward_animation", "generation_animation"]

LIMIT = 3.2  # half-width of the square window of every 2D picture


def density_image(mixture, t, size=80, limit=LIMIT):
    """The density of the OU marginal p_t of ``mixture`` on a ``size x size`` grid."""
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a GaussianMixture, got {mixture!r}")
    u = np.linspace(-limit, limit, size)
    grid = np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
    return np.exp(mixture.noised(t).log_density(grid)).reshape(size, size)


def _levels(density):
    """Density quantised to a few shades (flat areas keep the animation frames small)."""
    return np.floor(6 * density / density.max()) / 6


def show_density(ax, mixture, t, limit=LIMIT):
    """Draw p_t as a light background image (six shades) on ``ax``; return the image artist."""
    image = ax.imshow(_levels(density_image(mixture, t, limit=limit)), origin="lower",
                      cmap="Blues", vmin=0, vmax=1.6, extent=(-limit, limit, -limit, limit),
                      interpolation="nearest")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _draw_cloud(fig, frames, mixture, title):
    """Artists for frames (t, X): the exact density p_t behind the particles X."""
    ax = fig.add_subplot()
    image = show_density(ax, mixture, frames[0][0])
    cloud = ax.scatter(*frames[0][1].T, s=4, color="crimson", linewidths=0)
    label = ax.set_title("")

    def update(i):
        t, X = frames[i]
        image.set_data(_levels(density_image(mixture, t)))
        cloud.set_offsets(X)
        label.set_text(title(i, t))
        return [image, cloud, label]  # only these are redrawn in a live notebook

    return update


def forward_animation(mixture, seed=0, n_frames=25):
    """Animate the OU forward process from ``mixture``: particles and the exact p_t.

    Controls: the number of particles and the final time T.
    """
    n_frames = checks.integer("n_frames", n_frames, minimum=2, maximum=60)

    def simulate(n_particles, T):
        rng = np.random.default_rng(seed)
        times = np.linspace(0.0, T, n_frames)
        paths = ou_path(mixture.sample(n_particles, rng), times, rng)
        return list(zip(times, paths))

    def draw(fig, frames):
        return _draw_cloud(fig, frames, mixture, lambda i, t: f"forward: t = {t:.2f}")

    return animate_flow(simulate, draw,
                        {"n_particles": Slider(1000, 200, 2000, 100, label="particles"),
                         "T": Slider(2.0, 0.5, 5.0, 0.5, label="final time T")},
                        figsize=(3.6, 3.8), interval=120)


def generation_animation(mixture, scores, seed=0, n_particles=1000, max_frames=30, T=5.0,
                         t_min=1e-3):
    """Animate generation from noise: particles of a sampler and the exact p_t.

    ``scores`` maps a name to a score function ``score(X, t)``; every score
    is run from ``T`` down to ``t_min`` (a learned score needs ``t_min`` at
    or above the smallest time it was trained on). Controls: the number of
    steps, the sampler, and the score when there are several.
    """
    if not isinstance(scores, dict) or not scores or not all(callable(f) for f in scores.values()):
        raise TypeError(f"scores must map names to score functions score(X, t), got {scores!r}")
    names = tuple(scores)

    def simulate(n_steps, sampler, score=names[0]):
        store = -(-n_steps // max_frames)  # ceil: at most max_frames + 2 frames
        gen = generate(scores[score], n_particles, 2, n_steps, np.random.default_rng(seed),
                       sampler, T=T, t_min=t_min, store_every=store)
        return list(zip(gen.times, gen.X))

    def draw(fig, frames):
        return _draw_cloud(fig, frames, mixture, lambda i, t: f"backward: t = {t:.2f}")

    params = {"n_steps": Slider(100, 5, 300, 5, label="steps"),
              "sampler": Choice(SAMPLERS[0], SAMPLERS)}
    if len(names) > 1:
        params["score"] = Choice(names[0], names)
    return animate_flow(simulate, draw, params, figsize=(3.6, 3.8), interval=120)
