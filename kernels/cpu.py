"""CPU sweep drivers: ``prange`` over chains, each running the shared per-chain logic of
:mod:`satea.kernels.moves` on its own row (chain-major layout, ``cm=True``)."""
import numpy as np
from numba import njit, prange

from .moves import NF, chain_init, chain_resync, move_delta, propose, run_sweeps


@njit(parallel=True, cache=True)
def init_cpu(P, x, nxt, head, srv_cost, srv_busy, rng, chain_f, n_jobs, n_servers,
             random_start):
    """Draw (or take) each chain's assignment and build its state."""
    nc = chain_f.shape[0] // NF
    for c in prange(nc):
        cost, viol = chain_init(P, x, nxt, head, srv_cost, srv_busy, rng, c, nc, True,
                                n_jobs, n_servers, chain_f[c * NF], random_start)
        chain_f[c * NF + 1] = cost
        chain_f[c * NF + 2] = viol


@njit(parallel=True, cache=True)
def resync_cpu(P, nxt, head, srv_cost, srv_busy, chain_f, n_jobs, n_servers):
    """Recompute every server of every chain from scratch (used by tests and checks)."""
    nc = chain_f.shape[0] // NF
    for c in prange(nc):
        cost, viol = chain_resync(P, nxt, head, srv_cost, srv_busy, c, nc, True,
                                  n_jobs, n_servers, chain_f[c * NF])
        chain_f[c * NF + 1] = cost
        chain_f[c * NF + 2] = viol


@njit(parallel=True, cache=True)
def sweep_cpu(P, x, nxt, head, srv_cost, srv_busy, rng, best_x, chain_f, n_jobs, n_servers,
              betas, sweep0, n_sweeps, p_swap, cap_weight, trace):
    """Run ``n_sweeps`` sweeps of every chain, chains in parallel."""
    nc = chain_f.shape[0] // NF
    for c in prange(nc):
        run_sweeps(P, x, nxt, head, srv_cost, srv_busy, rng, best_x, chain_f, c, nc, True,
                   n_jobs, n_servers, betas, sweep0, n_sweeps, p_swap, cap_weight, trace)


@njit(cache=True)
def sample_deltas_cpu(P, x, nxt, head, srv_cost, srv_busy, rng, chain_f, n_jobs, n_servers,
                      p_swap, out):
    """Search-cost changes of ``out.size // nc`` random moves per chain, none accepted
    (used to size temperatures). Null moves give NaN."""
    nc = chain_f.shape[0] // NF
    per = out.shape[0] // nc
    for c in range(nc):
        lam = chain_f[c * NF]
        for i in range(per):
            j1, j2, a, b, u = propose(P, x, rng, c, nc, True, n_jobs, p_swap)
            if a == b:
                out[c * per + i] = np.nan
                continue
            d = move_delta(P, nxt, head, srv_cost, srv_busy, c, nc, True, n_jobs, n_servers,
                           j1, j2, a, b, lam, 0.0)
            out[c * per + i] = d[1]
