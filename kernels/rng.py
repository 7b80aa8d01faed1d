"""xoroshiro128+ streams, one per chain, usable from CPU (njit) and GPU (cuda.jit) code.

Each chain owns two uint64 words of state. Seeding (on the host, vectorised) derives chain
``i``'s state from ``(seed, i)`` alone, so a chain's trajectory does not depend on how many
chains run beside it. The device-side functions take a flat state array and the two
positions of the chain's words, so the same source serves either memory layout.
"""
from functools import lru_cache

import numpy as np
from numba import uint32, uint64
from numba.extending import register_jitable

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0


def _splitmix64(z: np.ndarray) -> np.ndarray:
    # finaliser of SplitMix64 (Steele, Lea & Flood 2014); decorrelates consecutive inputs
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@lru_cache(maxsize=64)
def _seed_key(seed: int) -> np.uint64:
    # SeedSequence costs ~0.1 ms: a batch of problems on one seed pays it once
    return np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]


def seed_states(seed: int, chain_ids: np.ndarray) -> np.ndarray:
    """Initial states, shape (len(chain_ids), 2), uint64, for the given chain indices."""
    key = _seed_key(int(seed))
    ids = np.asarray(chain_ids, np.uint64)
    with np.errstate(over="ignore"):
        base = key + (np.uint64(2) * ids + np.uint64(1)) * _GOLDEN
        s0 = _splitmix64(base)
        s1 = _splitmix64(base + _GOLDEN)
    s1[(s0 == 0) & (s1 == 0)] = 1  # the all-zero state is a fixed point
    return np.stack([s0, s1], axis=1)


def next_uniform_np(state: np.ndarray) -> np.ndarray:
    """Vectorised twin of :func:`next_uniform` over chains; ``state`` (n, 2) updated in place."""
    s0 = state[:, 0].copy()
    s1 = state[:, 1].copy()
    with np.errstate(over="ignore"):
        result = s0 + s1
    s1 ^= s0
    state[:, 0] = ((s0 << np.uint64(24)) | (s0 >> np.uint64(40))) ^ s1 ^ (s1 << np.uint64(16))
    state[:, 1] = (s1 << np.uint64(37)) | (s1 >> np.uint64(27))
    return (result >> np.uint64(11)).astype(np.float64) * _TWO_M53


@register_jitable
def next_uniform(state, i0, i1):
    """Advance the stream stored at ``state[i0], state[i1]``; return a float64 in [0, 1)."""
    s0 = uint64(state[i0])
    s1 = uint64(state[i1])
    result = uint64(s0 + s1)
    s1 = uint64(s1 ^ s0)
    state[i0] = uint64((s0 << uint32(24)) | (s0 >> uint32(40))) ^ s1 ^ uint64(s1 << uint32(16))
    state[i1] = uint64((s1 << uint32(37)) | (s1 >> uint32(27)))
    return float(result >> uint32(11)) * _TWO_M53
