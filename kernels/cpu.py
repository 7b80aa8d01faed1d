"""CPU sweep drivers: ``prange`` over chains, each running the shared per-chain logic of
:mod:`satea.kernels.moves` on its own rows (chain-major layout, walk caches kept:
:data:`CHAIN_MAJOR`, :data:`CACHES`).

The kernels allocate nothing, so they are compiled without Numba's reference counting
(``_nrt=False``): every ``P[...]``/``S[...]`` lookup of a tuple member otherwise costs an
atomic increment and decrement, which made a move ~14x slower (measured on 6 x 3 and
1,000 x 100 fleets while the tuples were introduced).

Numba passes every member of a tuple argument as its own scalar argument, so a call that
LLVM does not inline costs ~100 ns with ``P`` and ``S``. LLVM's default inlining threshold
(275) left the move functions as calls; at 10,000 everything on the move path inlines
into the sweep loop (an O(1) assignment move: 250-390 -> 100-135 ns on one core). The
option is process-wide in LLVM; it changes how much is inlined, never what code computes.
"""
import math
from pathlib import Path
from typing import Any

import numpy as np
from llvmlite import binding as _llvm
from numba import njit, prange

from .layout import CHAIN_F, CPU_FLAGS, F_LAM, F_PHOLD, N_CHAIN_F, has_holds
from .moves import (HOLD_MOVE, Chain, chain_init, chain_resync, move_delta, propose,
                    run_sweeps_cpu)

_llvm.set_option("", "-inline-threshold=10000")

#: how every CPU driver is compiled: cached on disk, without reference counting (see the
#: module docstring), NumPy's error model (no ZeroDivisionError checks in the walks). A
#: dict, since numba's type stubs do not list the private ``_nrt`` option
KERNEL_JIT: dict[str, Any] = {"cache": True, "_nrt": False, "error_model": "numpy"}
#: the CPU's chain view flags (:data:`.moves.Chain`): chain-major rows, walk caches kept
CHAIN_MAJOR, CACHES = CPU_FLAGS


def _drop_stale_cache() -> None:
    """Numba keys its on-disk cache on a file's timestamp alone, but the kernels' logic
    lives in moves.py, layout.py and rng.py too: drop cached builds (of this module and of
    batch.py) older than any of them, so an edited move is never run from a stale build."""
    here = Path(__file__).resolve().parent
    try:
        newest = max((here / f).stat().st_mtime
                     for f in ("cpu.py", "batch.py", "moves.py", "layout.py", "rng.py"))
        for stem in ("cpu", "batch"):
            for f in (here / "__pycache__").glob(f"{stem}.*.nb[ic]"):
                if f.stat().st_mtime < newest:
                    f.unlink(missing_ok=True)
    except OSError:  # read-only install or a concurrent clean-up: numba copes
        pass


_drop_stale_cache()


@njit(parallel=True, **KERNEL_JIT)
def init_cpu(P, S, n_jobs, n_servers, random_start):
    """Draw (or take) each chain's assignment and build its lists and caches."""
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    for c in prange(nc):
        chain_init(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True),
                   random_start)


@njit(parallel=True, **KERNEL_JIT)
def resync_cpu(P, S, n_jobs, n_servers):
    """Recompute every cache of every chain from its lists (tests and checks)."""
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    for c in prange(nc):
        chain_resync(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True), False)


def sweep_cpu(P, S, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight,
              trace):
    """Run ``n_sweeps`` sweeps of ``n_moves`` moves of every chain, chains in parallel: the
    sweep compiled with or without the hold code, as the problem has holds or not (a
    problem without them runs exactly the code it ran before holds existed)."""
    sweep = sweep_cpu_holds if has_holds(P) else sweep_cpu_plain
    sweep(P, S, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight,
          trace)


# two builds of one loop, the chain view's ``holds`` a constant in each (a literal
# argument instead cost a trip through Numba's compile path on every call)
@njit(parallel=True, **KERNEL_JIT)
def sweep_cpu_plain(P, S, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap,
                    cap_weight, trace):
    """:func:`sweep_cpu` of a problem without holds: no hold code at all."""
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    for c in prange(nc):
        run_sweeps_cpu(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, False),
                       betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight, trace)


@njit(parallel=True, **KERNEL_JIT)
def sweep_cpu_holds(P, S, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap,
                    cap_weight, trace):
    """:func:`sweep_cpu` of a problem whose jobs may be held."""
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    for c in prange(nc):
        run_sweeps_cpu(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True),
                       betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight, trace)


@njit(**KERNEL_JIT)
def sample_deltas_cpu(P, S, n_jobs, n_servers, p_swap, out):
    """Search-cost changes of ``out.size // nc`` random moves per chain, none accepted
    (used to size temperatures). Null moves give NaN."""
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    per = out.shape[0] // nc
    for c in range(nc):
        lam = S[CHAIN_F][c * N_CHAIN_F + F_LAM]
        p_hold = S[CHAIN_F][c * N_CHAIN_F + F_PHOLD]
        ch = Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True)
        for i in range(per):
            mv = propose(P, S, ch, p_swap, p_hold)
            if mv.a == mv.b and mv.j2 != HOLD_MOVE:
                out[c * per + i] = np.nan
                continue
            d = move_delta(P, S, ch, mv, lam, 0.0, math.inf)
            out[c * per + i] = d.d_cost
