"""Backend registry: ``resolve("auto" | "numpy" | "numba" | "cuda")``."""
from __future__ import annotations

from .base import Backend, ChainSnapshot, RunSpec

BACKEND_NAMES = ("numpy", "numba", "cuda")


def backend_class(name: str) -> type[Backend]:
    if name == "numpy":
        from .numpy_ref import NumpyReferenceBackend
        return NumpyReferenceBackend
    if name == "numba":
        from .numba_cpu import NumbaCPUBackend
        return NumbaCPUBackend
    if name == "cuda":
        from .numba_cuda import CudaBackend
        return CudaBackend
    raise ValueError(f"backend: unknown backend {name!r}; valid: auto, {', '.join(BACKEND_NAMES)}")


def available_backends() -> list[str]:
    """Names of the backends usable in this process, fastest last."""
    return [n for n in BACKEND_NAMES if backend_class(n).available()]


def resolve(name: str = "auto") -> type[Backend]:
    """The backend class for ``name``; "auto" is cuda when a usable GPU is present, else numba."""
    if name == "auto":
        cls = backend_class("cuda")
        return cls if cls.usable_for_auto() else backend_class("numba")
    cls = backend_class(name)
    if not cls.available():
        raise ValueError(f"backend: {name!r} is not available here: {cls.unavailable_reason()}")
    return cls


__all__ = ["Backend", "ChainSnapshot", "RunSpec", "BACKEND_NAMES", "available_backends",
           "backend_class", "resolve"]
