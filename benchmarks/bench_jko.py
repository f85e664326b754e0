"""Speed of the JKO solvers against general-purpose baselines measured in the same run.

1. One 1D JKO step (potential x^2/2 + entropy) for n = 1e3, 1e4, 1e5 particles:
   Newton with a tridiagonal solve against scipy.optimize.minimize (L-BFGS-B) on
   the same objective, both stopped at the same optimality residual (L-BFGS-B
   gets a time budget of 60 s per run; past it the ratio printed is a lower bound).
2. One entropic JKO step on a 128 x 128 grid.
3. The entropic JKO iterations on a 64 x 64 grid with the separable log-domain
   kernel against the same iterations with a dense (4096 x 4096) kernel matrix
   applied in the log domain, and POT's dense log-domain Sinkhorn for scale.

Run: .venv/bin/python benchmarks/bench_jko.py  (about three minutes)
"""

import os
import time
import warnings

# One BLAS thread for every solver: on a shared 2-core machine a multithreaded
# BLAS makes small matrix products erratic (5x swings between runs).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ot  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from lecture_code.jko_1d import (JKOProblem1D, gaussian_particles, jko_step_1d,  # noqa: E402
                                 quadratic_potential_1d)
from lecture_code.jko_entropic import (entropic_jko_step, gaussian_on_grid,  # noqa: E402
                                       gibbs_log_apply, grid_moments, make_grid)


def best_time(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


# ------------------------------------------------------------------ 1D
def lbfgs_objective(y, tau, delta):
    """The JKO objective of the 1D solver (V = x^2/2, beta = 1), scaled by n, with gradient.

    L-BFGS-B has no notion of the domain h_i > 0, and returning inf there makes
    its line search stop. So below the gap ``delta`` (far below every gap of the
    minimiser) -log h is continued by its second-order Taylor polynomial: the
    objective is unchanged where the minimiser lies.
    """
    n = y.size

    def fun(x):
        h = np.diff(x)
        small = h < delta
        hs = np.where(small, delta, h)
        u = (h - delta) / delta
        entropy = -np.log(n * hs) - np.where(small, u - 0.5 * u * u, 0.0)
        d_entropy = np.where(small, -1 / delta + (h - delta) / delta ** 2, -1 / hs)
        value = np.dot(x - y, x - y) / (2 * tau) + 0.5 * np.dot(x, x) + entropy.sum()
        grad = (x - y) / tau + x
        grad[:-1] -= d_entropy
        grad[1:] += d_entropy
        return value, grad

    return fun


def bench_1d(tau=0.1, rel_tol=1e-5, budget=60.0):
    problem = JKOProblem1D(potential=quadratic_potential_1d(), beta=1.0)
    print("1D JKO step, V = x^2/2 + entropy, tau = 0.1, start N(2, 0.25)")
    print(f"both solvers stop at max|grad| <= {rel_tol:g} * max(1, 1/min h)")
    print(f"{'n':>8} {'Newton [s]':>11} {'its':>4} {'L-BFGS-B [s]':>13} {'its':>7} "
          f"{'reached':>8} {'ratio':>8} {'Newton 1e-9 [s]':>16}")
    for n in (1_000, 10_000, 100_000):
        y = gaussian_particles(n, 2.0, 0.25)
        t_newton, step = best_time(lambda: jko_step_1d(y, tau, problem, tol=rel_tol))
        t_tight, _ = best_time(lambda: jko_step_1d(y, tau, problem))
        gtol = rel_tol * problem.residual_scale(step.x)
        fun = lbfgs_objective(y, tau, 0.01 * np.diff(y).min())
        start = time.perf_counter()

        def out_of_time(intermediate_result):
            if time.perf_counter() - start > budget:
                raise StopIteration

        result = minimize(fun, y, jac=True, method="L-BFGS-B", callback=out_of_time,
                          options={"gtol": gtol, "ftol": 0.0, "maxiter": 10 ** 6,
                                   "maxfun": 10 ** 6, "maxcor": 20})
        t_lbfgs = time.perf_counter() - start
        residual = np.abs(fun(result.x)[1]).max()
        reached = residual <= gtol
        ratio = t_lbfgs / t_newton
        print(f"{n:>8} {t_newton:11.4f} {step.n_iter:>4} {t_lbfgs:13.3f} {result.nit:>7} "
              f"{'yes' if reached else 'NO':>8} {('' if reached else '>') + f'{ratio:.0f}x':>8} "
              f"{t_tight:16.4f}")
        if not reached:
            print(f"{'':8} L-BFGS-B stopped at residual {residual:.2e} > {gtol:.2e} "
                  f"({result.message}); the ratio is a lower bound")
    print()


# ------------------------------------------------------------------ grids
def dense_apply_factory(points, eps):
    """The Gibbs kernel as one dense (N^2 x N^2) matrix, applied in the log domain.

    Built once (not timed). Each application shifts log v by its maximum, does a
    dense matrix-vector product, and recomputes underflowed entries exactly: the
    same stabilisation as the separable solver, without the separability.
    """
    log_kernel = -(ot.dist(points, points) / 2) / eps
    kernel = np.exp(log_kernel)

    def apply(logv):
        top = logv[np.isfinite(logv)].max()
        total = kernel @ np.exp(logv - top)
        out = np.full(total.shape, -np.inf)
        np.log(total, out=out, where=total > 0)
        out += top
        weak = total < 1e-250
        if weak.any():
            out[weak] = logsumexp(log_kernel[weak] + logv[None, :], axis=1)
        return out

    return apply


def kl_prox_iterations(apply, log_p, shift, sigma_beta, n_iter, omega):
    """The KL-proximal iterations of entropic_jko_step for a given kernel application."""
    log_b = np.zeros_like(log_p)
    log_a = log_p - apply(log_b)
    for _ in range(n_iter):
        log_qt = apply(log_a)
        log_q = (log_qt - shift) / (1 + sigma_beta)
        log_b = (1 - omega) * log_b + omega * (log_q - log_qt)
        log_a = log_p - apply(log_b)
    return np.exp(log_b + apply(log_a))


def bench_grids(n_dense_iter=20, n_pot_iter=4):
    tau, eps, omega, beta = 0.2, 0.01, 1.8, 1.0
    print(f"entropic JKO step, V = |x|^2/2 + entropy, tau = {tau}, eps = {eps}, omega = {omega}")
    grid = make_grid((128, 128), 4.0)
    p = gaussian_on_grid(grid, [1.0, 0.5], 0.3)
    t_step, step = best_time(lambda: entropic_jko_step(p, grid, tau, eps, V=grid.sq_norm() / 2,
                                                       omega=omega, tol=1e-7), repeats=1)
    print(f"128 x 128 grid: {t_step:.2f} s per step, {step.n_iter} iterations, "
          f"{1e3 * t_step / step.n_iter:.2f} ms per iteration, mass error {abs(step.q.sum() - 1):.1e}")

    grid = make_grid((64, 64), 4.0)
    p = gaussian_on_grid(grid, [1.0, 0.5], 0.3)
    V = grid.sq_norm() / 2
    t_step, step = best_time(lambda: entropic_jko_step(p, grid, tau, eps, V=V, omega=omega,
                                                       tol=1e-7), repeats=3)
    print(f"64 x 64 grid: {t_step:.3f} s per step with the separable kernel, {step.n_iter} iterations")
    # Same iterations, same count, separable against dense kernel application.
    points = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    sigma = tau / eps
    shift = sigma * V + sigma * beta * (1 - grid.d * np.log(grid.h))
    log_p = np.log(p)

    def separable(logv):
        return gibbs_log_apply(logv, grid, eps)

    dense = dense_apply_factory(points, eps)

    def run_dense():
        return kl_prox_iterations(lambda v: dense(v.ravel()).reshape(grid.shape), log_p, shift,
                                  sigma * beta, n_dense_iter, omega)

    t_sep, q_sep = best_time(lambda: kl_prox_iterations(separable, log_p, shift, sigma * beta,
                                                        n_dense_iter, omega), repeats=3)
    t_dense, q_dense = best_time(run_dense, repeats=2)
    print(f"  {n_dense_iter} iterations: separable {t_sep:.3f} s, dense kernel {t_dense:.3f} s, "
          f"ratio {t_dense / t_sep:.0f}x (L1 difference of the results {np.abs(q_sep - q_dense).sum():.1e})")
    print(f"  a full step ({step.n_iter} iterations) with the dense kernel would take about "
          f"{t_dense / n_dense_iter * step.n_iter:.2f} s")
    # POT's dense log-domain Sinkhorn (fixed marginals), per iteration, for scale
    cost = ot.dist(points, points) / 2
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        t_pot, _ = best_time(lambda: ot.sinkhorn(p.ravel(), step.q.ravel(), cost, eps,
                                                 method="sinkhorn_log", numItermax=n_pot_iter,
                                                 stopThr=0.0), repeats=1)
    per_iteration = t_pot / n_pot_iter / (t_sep / n_dense_iter)
    print(f"  POT sinkhorn_log (dense cost matrix), {n_pot_iter} iterations: {t_pot:.3f} s, "
          f"ratio per iteration {per_iteration:.0f}x")
    m, s = grid_moments(step.q, grid)
    print(f"  result: mean {np.round(m, 4).tolist()}, variance {s:.4f}")


if __name__ == "__main__":
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}\n")
    bench_1d()
    bench_grids()
