"""Domain types of the fleet model (see docs/model.md).

These are plain, immutable records. They are checked by :func:`satea.validate.validate_fleet`
(called by :func:`satea.compile.compile_fleet` and the instance reader) and compiled into
the array form every backend uses (:class:`satea.compile.ProblemArrays`).

Units: seconds, watts, joules; prices in currency per kWh.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PENALTY_KINDS = ("none", "step", "linear", "exponential")
#: exp(min(u, EXP_CAP)) - 1 keeps float32 finite; part of the model contract.
EXP_CAP = 20.0
JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class GPUType:
    """A GPU type: memory (GB) and idle power (W) while its server is switched on."""

    name: str
    memory_gb: float
    idle_w: float


@dataclass(frozen=True)
class DNNModel:
    """A DNN model to train: memory needed to train it (GB), and the per-GPU speed of a
    k-GPU (gang) run relative to one GPU, ``multi_gpu_efficiency[k]`` (1 for any k not
    listed; docs/model.md, part 2)."""

    name: str
    memory_gb: float
    #: ``((k, efficiency), ...)``; a dict is accepted and stored as sorted pairs (hashable)
    multi_gpu_efficiency: tuple | dict = ()

    def __post_init__(self):
        eff = self.multi_gpu_efficiency
        if isinstance(eff, dict):
            try:
                eff = tuple(sorted(eff.items()))
            except TypeError:   # mixed key types: validation names the entry
                eff = tuple(eff.items())
            object.__setattr__(self, "multi_gpu_efficiency", eff)

    def efficiency(self, k: int) -> float:
        """Per-GPU speed of a ``k``-GPU run relative to one GPU (1 where not listed)."""
        for kk, e in self.multi_gpu_efficiency:
            if kk == k:
                return float(e)
        return 1.0


@dataclass(frozen=True)
class Profile:
    """Training throughput (samples/s) and board power while training (W) of a model on a GPU."""

    model: str
    gpu: str
    throughput: float
    power_w: float


@dataclass(frozen=True)
class PriceCurve:
    """Time-of-use price: ``prices_per_kwh[i]`` holds on ``[i*step_s, (i+1)*step_s)``,
    repeating with period ``len(prices_per_kwh) * step_s`` from time 0, or, with
    ``repeat=False`` (a market series), the last price holding after the last step.
    Prices may be negative (docs/model.md, part 2)."""

    name: str
    step_s: float
    prices_per_kwh: tuple[float, ...]
    repeat: bool = True


@dataclass(frozen=True)
class CarbonCurve:
    """Carbon intensity of the grid (g CO2e per kWh) per step, like :class:`PriceCurve`."""

    name: str
    step_s: float
    g_per_kwh: tuple[float, ...]
    repeat: bool = True


@dataclass(frozen=True)
class Server:
    """A node of ``gpus`` identical GPUs of type ``gpu`` (1: part 1's one-GPU server),
    drawing ``base_w`` watts of host power while on. Exactly one of ``price_per_kwh`` and
    ``price_curve`` is set; ``capacity_s`` (GPU-seconds allowed) None means unlimited.
    At most one of ``carbon_curve`` and ``carbon_g_per_kwh`` (none: no carbon)."""

    name: str
    gpu: str
    price_per_kwh: float | None = None
    price_curve: str | None = None
    capacity_s: float | None = None
    gpus: int = 1
    base_w: float = 0.0
    carbon_curve: str | None = None
    carbon_g_per_kwh: float | None = None


@dataclass(frozen=True)
class Penalty:
    """Lateness penalty of a job. ``kind`` is one of :data:`PENALTY_KINDS`; ``weight`` in
    currency; ``scale_s`` (seconds) normalises lateness for linear and exponential."""

    kind: str = "none"
    weight: float = 0.0
    scale_s: float = 1.0


@dataclass(frozen=True)
class Job:
    """A training job: ``samples`` of work of ``model``, released at ``release_s``, due at
    ``due_s`` (None: no deadline), run on ``gpus`` GPUs of one node at once (a gang). The
    solver may hold it back up to ``hold_max_s`` seconds after its release (None: the
    fleet's ``hold_max_s``; docs/model.md, part 3)."""

    name: str
    model: str
    samples: float
    release_s: float = 0.0
    due_s: float | None = None
    penalty: Penalty = field(default_factory=Penalty)
    gpus: int = 1
    hold_max_s: float | None = None


@dataclass(frozen=True)
class Fleet:
    """A whole placement instance (``satea-instance/1``)."""

    name: str
    gpus: dict[str, GPUType]
    models: dict[str, DNNModel]
    profiles: tuple[Profile, ...]
    servers: tuple[Server, ...]
    jobs: tuple[Job, ...]
    price_curves: dict[str, PriceCurve] = field(default_factory=dict)
    lam: float = 1.0
    #: the longest hold of every job that does not set its own ``hold_max_s`` (part 3)
    hold_max_s: float = 0.0
    carbon_curves: dict[str, CarbonCurve] = field(default_factory=dict)
    #: currency per kg CO2e: the objective adds ``carbon_price_per_kg * carbon_kg``
    carbon_price_per_kg: float = 0.0

    @property
    def has_carbon(self) -> bool:
        """Whether some server has a carbon intensity (results then report carbon_kg)."""
        return any(s.carbon_curve is not None or s.carbon_g_per_kwh is not None
                   for s in self.servers)

    def with_constant_prices(self) -> Fleet:
        """The same fleet with every price curve (and carbon curve) replaced by its
        time-average value (a constant ``price_per_kwh``, ``carbon_g_per_kwh``), e.g. for
        the MILP, which models constant prices only."""
        from dataclasses import replace
        if not any(s.price_curve or s.carbon_curve for s in self.servers):
            return self
        mean = {n: sum(c.prices_per_kwh) / len(c.prices_per_kwh)
                for n, c in self.price_curves.items()}
        cmean = {n: sum(c.g_per_kwh) / len(c.g_per_kwh) for n, c in self.carbon_curves.items()}
        servers = tuple(replace(s, price_per_kwh=mean[s.price_curve], price_curve=None)
                        if s.price_curve else s for s in self.servers)
        servers = tuple(replace(s, carbon_g_per_kwh=cmean[s.carbon_curve], carbon_curve=None)
                        if s.carbon_curve else s for s in servers)
        return replace(self, servers=servers, price_curves={}, carbon_curves={},
                       name=f"{self.name}-constant-prices")

    def with_hold_max(self, hold_max_s: float) -> Fleet:
        """The same fleet with every job allowed to wait up to ``hold_max_s`` seconds after
        its release (``satea solve --hold-max``): the fleet-wide value, and every job's own
        ``hold_max_s`` cleared so that the fleet's applies to all."""
        from dataclasses import replace
        return replace(self, hold_max_s=hold_max_s,
                       jobs=tuple(replace(j, hold_max_s=None) if j.hold_max_s is not None
                                  else j for j in self.jobs))

    def job_hold_max(self, job: Job) -> float:
        """The longest hold of ``job``: its own ``hold_max_s``, else the fleet's."""
        return float(self.hold_max_s if job.hold_max_s is None else job.hold_max_s)
    def carbon_as_price(self) -> Fleet:
        """The same fleet with each server's carbon intensity as its price, in kg CO2e per
        kWh (its electricity price and the carbon price dropped): its "energy cost" is
        the assignment's carbon_kg (``satea pareto --axis carbon``: carbon against
        lateness). Raises ValueError when no server has a carbon intensity."""
        from dataclasses import replace
        if not self.has_carbon:
            raise ValueError("--axis carbon: no server of the instance has a carbon "
                             "intensity (carbon_curve or carbon_g_per_kwh)")
        curves = {f"carbon:{n}": PriceCurve(f"carbon:{n}", c.step_s,
                                            tuple(v / 1000.0 for v in c.g_per_kwh), c.repeat)
                  for n, c in self.carbon_curves.items()}
        servers = tuple(replace(s, price_per_kwh=None if s.carbon_curve else
                                (s.carbon_g_per_kwh or 0.0) / 1000.0,
                                price_curve=f"carbon:{s.carbon_curve}" if s.carbon_curve else None,
                                carbon_curve=None, carbon_g_per_kwh=None)
                        for s in self.servers)
        return replace(self, servers=servers, price_curves=curves, carbon_curves={},
                       carbon_price_per_kg=0.0, name=f"{self.name}-carbon")

    @property
    def n_jobs(self) -> int:
        return len(self.jobs)

    @property
    def n_servers(self) -> int:
        return len(self.servers)
