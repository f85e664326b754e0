"""Time to generate 10,000 samples in 2D with 200 steps, for each sampler.

The exact score of the 8-component ring mixture is evaluated vectorised over
samples and components (lecture_code.diffusion). The baseline, measured in
the same run, evaluates the same score the naive way: a Python loop over the
components, each density from scipy.stats.multivariate_normal, the noised
covariances inverted at every call. Both scores are checked to agree first.

Run: .venv/bin/python benchmarks/bench_diffusion.py
"""

import time

import numpy as np
from scipy.stats import multivariate_normal

from lecture_code import diffusion

N_SAMPLES, N_STEPS, REPEAT = 10_000, 200, 3


def loop_score(mixture):
    """The baseline: one component at a time, with SciPy densities."""
    def score(X, t):
        a, s2 = diffusion.ou_mean_scale(t)
        densities, gradients = [], []
        for w, mu, S in zip(mixture.weights, mixture.means, mixture.covariances):
            C = a ** 2 * S + s2 * np.eye(len(mu))
            densities.append(w * multivariate_normal(a * mu, C).pdf(X))
            gradients.append(-(X - a * mu) @ np.linalg.inv(C))
        densities = np.array(densities)
        total = densities.sum(0)
        return sum(d[:, None] * g for d, g in zip(densities, gradients)) / total[:, None]
    return score


def best_time(run):
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    target = diffusion.ring_mixture()
    fast, slow = diffusion.exact_score(target), loop_score(target)
    X = np.random.default_rng(0).standard_normal((1000, 2))
    for t in (0.01, 0.5, 3.0):
        np.testing.assert_allclose(fast(X, t), slow(X, t), rtol=1e-7, atol=1e-9)
    print(f"generate {N_SAMPLES} samples in 2D with {N_STEPS} steps (best of {REPEAT})")
    print(f"{'sampler':>22} {'score':>10} {'time [s]':>9} {'score evals':>12}")
    for sampler in diffusion.SAMPLERS:
        evals = N_STEPS if sampler == "reverse SDE" else 2 * N_STEPS + 1
        results = {}
        for name, score in (("vectorised", fast), ("loop", slow)):
            results[name] = best_time(lambda: diffusion.generate(
                score, N_SAMPLES, 2, N_STEPS, np.random.default_rng(1), sampler, T=5.0, t_min=1e-3))
            print(f"{sampler:>22} {name:>10} {results[name]:9.2f} {evals:12d}")
        print(f"{'':>22} {'speed-up':>10} {results['loop'] / results['vectorised']:8.1f}x")


if __name__ == "__main__":
    main()
