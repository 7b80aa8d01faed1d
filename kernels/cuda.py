"""GPU sweep kernels: one chain per thread, running the same per-chain logic as the CPU
(:mod:`satea.kernels.moves`) on interleaved state (``cm=False``: element ``i`` of chain
``c`` at ``i * n_chains + c``, so a warp's 32 chains read 32 neighbouring words).

Importing this module needs numba-cuda and the CUDA runtime library; compiling needs a GPU
or the simulator (``NUMBA_ENABLE_CUDASIM=1``); :func:`compile_ptx_all` needs NVVM and NVRTC
but no GPU (with numba-cuda 0.30 the caller must also stand in for the current device's
compute capability: see tests/test_cuda.py).
"""
import os

import numpy as np

if not hasattr(np, "row_stack"):
    # numba-cuda 0.30 registers an overload for np.row_stack, an alias NumPy 2.5 removed;
    # restore it so numba-cuda's typing registry loads (seen on an H200 image, 2026-11).
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from .batch import problem_view_padded, state_view  # noqa: E402
from .layout import CHAIN_F, GPU_FLAGS, N_CHAIN_F, STATE_SPEC  # noqa: E402
from .moves import Chain, chain_init, run_sweeps  # noqa: E402

#: the GPU's chain view flags (:data:`.moves.Chain`): interleaved state (a warp's threads
#: read neighbouring words) and no walk caches (a changed server is re-computed from its
#: links: :func:`.moves.server_delta` says why)
CHAIN_MAJOR, CACHES = GPU_FLAGS
# the chain view's ``holds`` is True on the GPU: each problem says whether it has holds
# (one kernel build serves both; the CPU compiles a sweep for each)
#: threads (chains) per block; SATEA_CUDA_TPB overrides it for tuning runs
THREADS_PER_BLOCK = int(os.environ.get("SATEA_CUDA_TPB", "128"))


def _init_kernel(P, S, n_jobs, n_servers, random_start):
    c = cuda.grid(1)
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    if c < nc:
        chain_init(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True), random_start)


def _sweep_kernel(P, S, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap,
                  cap_weight, trace):
    c = cuda.grid(1)
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    if c < nc:
        run_sweeps(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True), betas, sweep0,
                   n_sweeps, n_moves, p_swap, cap_weight, trace)


def _init_batch_kernel(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, random_start):
    """:func:`_init_kernel` over (problem, chain) pairs of a packed batch
    (:mod:`.batch`; ``dims[p]`` = n_jobs, n_servers, n_chains, moves per sweep)."""
    k = cuda.grid(1)
    if k < pair_p.shape[0]:
        p = pair_p[k]
        chain_init(problem_view_padded(PA, poff, pshp, p), state_view(SA, soff, p),
                   Chain(pair_c[k], dims[p, 2], CHAIN_MAJOR, CACHES, dims[p, 0], dims[p, 1],
                         True),
                   random_start[p] != 0)


def _sweep_batch_kernel(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, betas, boff, sweep0,
                        p_swap, cap_weight, trace, toff):
    """:func:`_sweep_kernel` over (problem, chain) pairs: as :func:`.batch.sweep_batch`, on
    interleaved state (a warp's neighbouring pairs are neighbouring chains of a problem)."""
    k = cuda.grid(1)
    if k < pair_p.shape[0]:
        p = pair_p[k]
        n_sweeps = boff[p + 1] - boff[p]
        if n_sweeps > 0:
            run_sweeps(problem_view_padded(PA, poff, pshp, p), state_view(SA, soff, p),
                       Chain(pair_c[k], dims[p, 2], CHAIN_MAJOR, CACHES, dims[p, 0], dims[p, 1],
                         True),
                       betas[boff[p]:boff[p + 1]], sweep0[p], n_sweeps, dims[p, 3], p_swap[p],
                       cap_weight[p], trace[toff[p]:toff[p + 1]])


init_kernel = cuda.jit(_init_kernel)
sweep_kernel = cuda.jit(_sweep_kernel)
init_batch_kernel = cuda.jit(_init_batch_kernel)
sweep_batch_kernel = cuda.jit(_sweep_batch_kernel)
KERNELS = {"init": _init_kernel, "sweep": _sweep_kernel, "init_batch": _init_batch_kernel,
           "sweep_batch": _sweep_batch_kernel}


def launch_config(n_chains):
    """(blocks, threads) covering ``n_chains`` threads."""
    return (n_chains + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK, THREADS_PER_BLOCK


def kernel_signatures(P_types):
    """Argument types of each kernel for ahead-of-time compilation (PTX check)."""
    from numba import from_dtype
    from numba import types as t
    S = t.Tuple(tuple(from_dtype(np.dtype(dt))[::1] for _n, _k, dt, _v in STATE_SPEC))
    P = t.Tuple(P_types)
    PA = t.Tuple(tuple(t.Array(a.dtype, a.ndim, "C") for a in P_types))  # packed fields
    i1, i2, i3, f1 = t.int64[::1], t.int64[:, ::1], t.int64[:, :, ::1], t.float64[::1]
    return {
        "init": (P, S, t.int64, t.int64, t.boolean),
        "sweep": (P, S, t.int64, t.int64, f1, t.int64, t.int64, t.int64,
                  t.float64, t.float64, f1),
        "init_batch": (PA, i2, i3, S, i2, i2, i1, i1, t.uint8[::1]),
        "sweep_batch": (PA, i2, i3, S, i2, i2, i1, i1, f1, i1, i1, f1, f1, f1, i1),
    }


def compile_ptx_all(P_types, cc=(9, 0)):
    """Compile every kernel to PTX for compute capability ``cc``: the real CUDA compile
    path (typing, lowering, NVVM), no GPU needed. Returns {name: ptx}."""
    sigs = kernel_signatures(P_types)
    return {name: cuda.compile_ptx(KERNELS[name], sigs[name], cc=cc)[0] for name in KERNELS}
