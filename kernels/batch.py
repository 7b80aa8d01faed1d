"""Many problems in one launch: every problem's arrays concatenated field by field, and
views that give the kernels one problem's ``P`` and ``S`` tuples back, so the per-chain
logic of :mod:`.moves` runs unchanged on (problem, chain) pairs.

A batch holds, per field, one array with every problem's part in turn, and an offsets
table ``off[p, f] .. off[p + 1, f]``; two-dimensional problem fields (the class tables,
the per-job tables) are stacked and padded (:func:`pack`) and viewed back as 2-D slices
of their shapes ``shp[p, f]``. Taking the views costs a few dozen slices per pair and
block, nothing per move. :func:`pack` builds these from per-problem tuples on the host; the
view functions are
generated from :data:`.layout.PROBLEM_FIELDS` and :data:`.layout.STATE_FIELDS`, so a field
added there is batched without an edit here. Used by the CPU drivers below and by
:mod:`.cuda`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from . import cpu  # noqa: F401  (its import drops stale cached builds of this module too)
from .cpu import CACHES, CHAIN_MAJOR, KERNEL_JIT
from .layout import (CHAIN_F, F_LAM, F_PHOLD, HOLD_MAX, N_CHAIN_F, PROBLEM_2D, PROBLEM_FIELDS,
                     STATE_FIELDS)
from .moves import HOLD_MOVE, Chain, chain_init, move_delta, propose, run_sweeps_cpu


def _view_source(name: str, fields: tuple, two_d: frozenset, padded: bool) -> str:
    lines = []
    for f, field in enumerate(fields):
        part = f"off[p, {f}]:off[p + 1, {f}]"
        if field not in two_d:
            lines.append(f"A[{f}][{part}]")
        elif not padded:
            lines.append(f"A[{f}][{part}].reshape((shp[p, {f}, 0], shp[p, {f}, 1]))")
        elif field in JOB_COLUMNS:
            lines.append(f"A[{f}][0:shp[p, {f}, 0], {part}]")
        else:
            lines.append(f"A[{f}][{part}, 0:shp[p, {f}, 1]]")
    args = "A, off, p" if name == "state_view" else "A, off, shp, p"
    return f"def {name}({args}):\n    return (" + ",\n            ".join(lines) + ",)\n"


#: two-dimensional fields indexed ``[g, j]`` by job. In the padded layout (the GPU's)
#: problems sit side by side along their columns (jobs) and the class tables ``[k, g]``
#: are stacked along their rows, the other axis padded to the batch's largest problem, so
#: a view is a plain 2-D slice: a device cannot reshape (numba-cuda's reshape calls a host
#: helper that PTX cannot link). The CPU's flat layout stores every part flat, unpadded,
#: and reshapes it back.
JOB_COLUMNS = frozenset(("proc", "dynw", "release_cum"))

_ns: dict = {}
exec(_view_source("problem_view", PROBLEM_FIELDS, PROBLEM_2D, False), _ns)
exec(_view_source("problem_view_padded", PROBLEM_FIELDS, PROBLEM_2D, True), _ns)
exec(_view_source("state_view", STATE_FIELDS, frozenset(), False), _ns)
#: problem ``p``'s tuple (:data:`.layout.PROBLEM_FIELDS`) from a flat packed batch (CPU)
problem_view = register_jitable(_ns["problem_view"])
#: ... from a padded packed batch (GPU)
problem_view_padded = register_jitable(_ns["problem_view_padded"])
#: problem ``p``'s chain state (:data:`.layout.STATE_FIELDS`) from a packed batch
state_view = register_jitable(_ns["state_view"])


def pack(tuples: list, fields: tuple | None = None, padded: bool = False):
    """Concatenate per-problem tuples of arrays field by field: ``(A, off)``, or with
    ``fields`` (their names: :data:`.layout.PROBLEM_FIELDS`) ``(A, off, shp)``.

    Every part is stored flat and concatenated (part ``p`` of field ``f`` is
    ``off[p, f]:off[p + 1, f]``; ``shp[p, f]`` is a 2-D part's shape), except with
    ``padded``: two-dimensional fields are then stacked along rows (columns for
    :data:`JOB_COLUMNS`), ``off`` counting rows (columns), and padded with zeros to the
    widest (tallest) problem. Every problem gives a field the same dtype and number of
    dimensions (the kernels' types).
    """
    n_fields = len(tuples[0])
    off = np.zeros((len(tuples) + 1, n_fields), np.int64)
    shp = np.zeros((len(tuples), n_fields, 2), np.int64)
    A = []
    for f in range(n_fields):
        parts = [np.asarray(t[f]) for t in tuples]
        if parts[0].ndim == 1 or not padded:
            for p, a in enumerate(parts):
                off[p + 1, f] = off[p, f] + a.size
                shp[p, f] = a.shape if a.ndim == 2 else (a.size, 1)
            A.append(np.concatenate([a.reshape(-1) for a in parts]))
            continue
        axis = 1 if fields is not None and fields[f] in JOB_COLUMNS else 0
        other = max(a.shape[1 - axis] for a in parts)
        for p, a in enumerate(parts):
            off[p + 1, f] = off[p, f] + a.shape[axis]
            shp[p, f] = a.shape
        out = np.zeros((off[-1, f], other) if axis == 0 else (other, off[-1, f]),
                       parts[0].dtype)
        for p, a in enumerate(parts):
            if axis == 0:
                out[off[p, f]:off[p + 1, f], :a.shape[1]] = a
            else:
                out[:a.shape[0], off[p, f]:off[p + 1, f]] = a
        A.append(out)
    return (tuple(A), off, shp) if fields is not None else (tuple(A), off)


def pack_problems(Ps: list, padded: bool = False):
    """:func:`pack` of problem tuples (:func:`.layout.problem_tuple`): ``(A, off, shp)``;
    flat for the CPU drivers, ``padded`` for the GPU's."""
    return pack(Ps, PROBLEM_FIELDS, padded)


def unpack(A: tuple, off: np.ndarray, p: int) -> tuple:
    """Problem ``p``'s parts of a packed state (host views; every field 1-D)."""
    return tuple(a[off[p, f]:off[p + 1, f]] for f, a in enumerate(A))


# ---- CPU drivers: prange over (problem, chain) pairs -------------------------------------
# dims[p] = (n_jobs, n_servers, n_chains, moves per sweep); pair k runs chain pair_c[k] of
# problem pair_p[k]

@njit(parallel=True, **KERNEL_JIT)
def init_batch(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, random_start):
    """:func:`.cpu.init_cpu` for every pair; ``random_start[p]`` per problem."""
    for k in prange(pair_p.shape[0]):
        p = pair_p[k]
        chain_init(problem_view(PA, poff, pshp, p), state_view(SA, soff, p),
                   Chain(pair_c[k], dims[p, 2], CHAIN_MAJOR, CACHES, dims[p, 0], dims[p, 1],
                         True), random_start[p] != 0)


def sweep_batch(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, betas, boff, sweep0,
                p_swap, cap_weight, trace, toff):
    """:func:`.cpu.sweep_cpu` for every pair: problem ``p`` runs sweeps ``sweep0[p] ..``
    at ``betas[boff[p]:boff[p + 1]]`` (none when empty); its trace (chain-major,
    ``n_chains x n_sweeps``) goes to ``trace[toff[p]:toff[p + 1]]``. Compiled with the
    hold code where some problem of the batch has holds (each still checks its own)."""
    # some problem's hold_max part is not empty: the build with the hold code
    sweep = sweep_batch_holds if poff[-1, HOLD_MAX] > 0 else sweep_batch_plain
    sweep(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, betas, boff, sweep0, p_swap,
          cap_weight, trace, toff)


# One (problem, chain) pair's block, a plain (not parallel) function of the pair's
# problem and state tuples, as the single-problem sweep has them: the chain view's flags
# are constants in it and run_sweeps_cpu is inlined into it in Numba's IR, so a batch
# without holds runs no hold code. The prange bodies below take the views and call it
# (one call a pair and block). Not inlined where the views are taken: Numba (0.68.1)
# drops the stores an IR-inlined function makes into an array sliced in the function it
# is inlined into (a chain's accepted count came back 0, tests/test_batch.py; a ten-line
# reproducer in benchmarks/README.md); arrays that arrive as arguments keep them.

@njit(**KERNEL_JIT)
def _pair_plain(P, S, c, nc, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap,
                cap_weight, trace):
    run_sweeps_cpu(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, False),
                   betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight, trace)


@njit(**KERNEL_JIT)
def _pair_holds(P, S, c, nc, n_jobs, n_servers, betas, sweep0, n_sweeps, n_moves, p_swap,
                cap_weight, trace):
    run_sweeps_cpu(P, S, Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True),
                   betas, sweep0, n_sweeps, n_moves, p_swap, cap_weight, trace)


@njit(parallel=True, **KERNEL_JIT)
def sweep_batch_plain(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, betas, boff, sweep0,
                      p_swap, cap_weight, trace, toff):
    """:func:`sweep_batch` of problems without holds (as :func:`.cpu.sweep_cpu_plain`)."""
    for k in prange(pair_p.shape[0]):
        p = pair_p[k]
        n_sweeps = boff[p + 1] - boff[p]
        if n_sweeps == 0:
            continue
        _pair_plain(problem_view(PA, poff, pshp, p), state_view(SA, soff, p), pair_c[k],
                    dims[p, 2], dims[p, 0], dims[p, 1], betas[boff[p]:boff[p + 1]],
                    sweep0[p], n_sweeps, dims[p, 3], p_swap[p], cap_weight[p],
                    trace[toff[p]:toff[p + 1]])


@njit(parallel=True, **KERNEL_JIT)
def sweep_batch_holds(PA, poff, pshp, SA, soff, dims, pair_p, pair_c, betas, boff, sweep0,
                      p_swap, cap_weight, trace, toff):
    """:func:`sweep_batch` where some problem has holds (each checks its own)."""
    for k in prange(pair_p.shape[0]):
        p = pair_p[k]
        n_sweeps = boff[p + 1] - boff[p]
        if n_sweeps == 0:
            continue
        _pair_holds(problem_view(PA, poff, pshp, p), state_view(SA, soff, p), pair_c[k],
                    dims[p, 2], dims[p, 0], dims[p, 1], betas[boff[p]:boff[p + 1]],
                    sweep0[p], n_sweeps, dims[p, 3], p_swap[p], cap_weight[p],
                    trace[toff[p]:toff[p + 1]])


@njit(parallel=True, **KERNEL_JIT)
def sample_deltas_batch(PA, poff, pshp, SA, soff, dims, p_swap, out, ooff):
    """:func:`.cpu.sample_deltas_cpu` for every problem (problems in parallel, each one's
    chains in turn, so each draws exactly what it would alone)."""
    for p in prange(dims.shape[0]):
        P = problem_view(PA, poff, pshp, p)
        S = state_view(SA, soff, p)
        nc, n_jobs, n_servers = dims[p, 2], dims[p, 0], dims[p, 1]
        per = (ooff[p + 1] - ooff[p]) // nc
        for c in range(nc):
            lam = S[CHAIN_F][c * N_CHAIN_F + F_LAM]
            p_hold = S[CHAIN_F][c * N_CHAIN_F + F_PHOLD]
            ch = Chain(c, nc, CHAIN_MAJOR, CACHES, n_jobs, n_servers, True)
            for i in range(per):
                mv = propose(P, S, ch, p_swap, p_hold)
                at = ooff[p] + c * per + i
                if mv.a == mv.b and mv.j2 != HOLD_MOVE:
                    out[at] = np.nan
                    continue
                d = move_delta(P, S, ch, mv, lam, 0.0, math.inf)
                out[at] = d.d_cost
