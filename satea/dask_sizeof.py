"""The ``dask.sizeof`` entry point (setup.cfg): dask calls it on its first import of
``dask.sizeof``, in the client and in every worker, so the scheduler counts a scattered
problem's real bytes. NumPy only: a worker imports it before its environment (such as
``NUMBA_NUM_THREADS``) is set, and importing numba then would fix numba's configuration."""
from __future__ import annotations

from .compile import ProblemArrays


def register_sizeof(sizeof) -> None:
    """Teach ``dask.sizeof`` the size of a ProblemArrays (its arrays' bytes)."""
    sizeof.register(ProblemArrays)(lambda p: int(p.nbytes()) + 1024)
