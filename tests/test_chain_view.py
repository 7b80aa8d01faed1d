"""The chain view's two flags are independent: every (layout, cache policy) pair runs the
same chains to the same states.

The CPU kernels are compiled with (chain-major, caches) and the GPU's with (interleaved,
no caches); here one driver runs the shared per-chain logic with each of the four pairs on
several chains, on the CPU, so a flag that leaked into the other's job (an index taken
as if chain-major, a cache read where none is kept) shows as a different chain.
"""
import numpy as np
import pytest
from numba import njit

from satea.backends.base import RunSpec, state_plan
from satea.backends.numba_cpu import problem_tuple
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.kernels.layout import BEST_X, CHAIN_F, N_CHAIN_F, STATE_SPEC, X
from satea.kernels.moves import Chain, chain_init, run_sweeps

from conftest import tiny_node_fleets

FLAGS = [(True, True), (True, False), (False, True), (False, False)]


@njit
def _run(P, S, n_jobs, n_servers, betas, p_swap, cm, caches, trace):
    nc = S[CHAIN_F].shape[0] // N_CHAIN_F
    for c in range(nc):
        ch = Chain(c, nc, cm, caches, n_jobs, n_servers, True)
        chain_init(P, S, ch, True)
        run_sweeps(P, S, ch, betas, 0, betas.shape[0], n_jobs, p_swap, 1.0, trace)


def _rows(a: np.ndarray, nc: int, chain_major: bool) -> np.ndarray:
    """A state array as (chain, element) rows, whatever its layout."""
    return a.reshape(nc, -1) if chain_major else a.reshape(-1, nc).T


def _chains(problem, flags, nc=5, sweeps=12):
    P = problem_tuple(problem)
    lam = problem.lam
    spec = RunSpec(nc, 7, np.arange(nc), np.full(nc, lam), 0.3, 1.0)
    S = tuple(np.full(size, fill, dtype) if np.isscalar(fill) else fill.copy()
              for size, dtype, fill in state_plan(problem, spec, P, flags))
    betas = np.geomspace(0.05, 50.0, sweeps)
    trace = np.zeros(nc * sweeps)
    _run(P, S, problem.n_jobs, problem.n_servers, betas, 0.3, flags[0], flags[1], trace)
    names = [name for name, *_ in STATE_SPEC]
    cm = flags[0]
    return {"x": _rows(S[X], nc, cm), "best_x": _rows(S[BEST_X], nc, cm),
            "chain_f": _rows(S[CHAIN_F], nc, cm), "trace": _rows(trace, nc, cm),
            "fields": names}


def _fleets():
    yield "fleet", compile_fleet(generate_fleet(30, 6, seed=3))
    for name, fleet in tiny_node_fleets():
        yield name, compile_fleet(fleet)


CASES = list(_fleets())


@pytest.mark.parametrize("name,problem", CASES, ids=[name for name, _p in CASES])
def test_every_flag_pair_runs_the_same_chains(name, problem):
    runs = {f: _chains(problem, f) for f in FLAGS}
    ref = runs[(True, True)]
    assert len(np.unique(ref["x"], axis=0)) > 1          # the chains differ from each other
    for f in FLAGS[1:]:
        got = runs[f]
        np.testing.assert_array_equal(got["x"], ref["x"], err_msg=f"{name} {f}")
        np.testing.assert_array_equal(got["best_x"], ref["best_x"], err_msg=f"{name} {f}")
        # costs agree up to rounding: without caches a server's cost is updated by deltas
        # from whole-server walks, with them by suffix walks (the same terms summed in
        # another order)
        np.testing.assert_allclose(got["trace"], ref["trace"], rtol=1e-6, err_msg=f"{name} {f}")
        np.testing.assert_allclose(got["chain_f"], ref["chain_f"], rtol=1e-6, atol=1e-9,
                                   err_msg=f"{name} {f}")
