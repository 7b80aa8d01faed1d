"""The NumPy reference annealer: the algorithm's specification in code.

All chains advance together: each step, every chain draws one move (four uniforms from
its own xoroshiro128+ stream), evaluates the two servers it touches, and accepts or
rejects it by the Metropolis rule. A sweep is ``n_jobs`` steps. This is the same
algorithm, draw for draw, as :mod:`satea.kernels.moves`; it trades speed for being
readable: a server's schedule is recomputed over a (chains x jobs) mask, O(N) per move.
"""
from __future__ import annotations

import numpy as np

from ..compile import PEN_EXP, PEN_LINEAR, PEN_STEP, ProblemArrays
from ..kernels.layout import curve_cumulative_np, problem_walks
from ..kernels.rng import next_uniform_np, seed_states
from ..model import EXP_CAP, JOULES_PER_KWH
from .base import Backend, ChainSnapshot, RunSpec


def curve_cumulative(problem: ProblemArrays, cid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Integral over [0, t] of price curve ``cid`` (elementwise; cid >= 0): the kernels'
    arithmetic, vectorised (:func:`satea.kernels.layout.curve_cumulative_np`)."""
    return curve_cumulative_np(problem, cid, t)


def price_integral(problem: ProblemArrays, s: np.ndarray, a: np.ndarray, b: np.ndarray):
    """Integral of server ``s``'s price over [a, b] (elementwise, broadcasting)."""
    s, a, b = np.broadcast_arrays(s, a, b)
    out = problem.price_const[s] * (b - a)
    cid = problem.curve_id[s]
    on_curve = cid >= 0
    if on_curve.any():
        c = cid[on_curve]
        out[on_curve] = (curve_cumulative(problem, c, b[on_curve])
                         - curve_cumulative(problem, c, a[on_curve]))
    return out


def penalties(problem: ProblemArrays, completion: np.ndarray) -> np.ndarray:
    """Penalty of every job (last axis) given its completion time."""
    lateness = completion - problem.due
    late = lateness > 0
    u = np.where(late, lateness / problem.pen_scale, 0.0)
    w, kind = problem.pen_weight, problem.pen_kind
    pen = np.where(kind == PEN_STEP, w, 0.0)
    pen = np.where(kind == PEN_LINEAR, w * u, pen)
    pen = np.where(kind == PEN_EXP, w * np.expm1(np.minimum(u, EXP_CAP)), pen)
    return np.where(late, pen, 0.0)


def server_eval(problem: ProblemArrays, member: np.ndarray, s: np.ndarray, lam: np.ndarray,
                hold: np.ndarray | None = None):
    """Search cost and busy time of server ``s[c]`` holding the jobs ``member[c]``.

    Parameters
    ----------
    member : bool array (n_chains, n_jobs), internal (dispatch) order
    s : int array (n_chains,)
    hold : float array (n_chains, n_jobs), optional
        Each job's hold (docs/model.md, part 3): it starts no earlier than release + hold.

    Notes
    -----
    Completion times of a non-delay schedule in dispatch order,
    ``C_k = max(r_k, C_{k-1}) + p_k``, job by job (vectorised over chains) as the model
    states them: the closed form ``C_k = P_k + max_{i <= k} (r_i - P_i + p_i)`` (``P`` the
    running sum) is the same in exact arithmetic, not in float64, and a completion it put
    an ulp past a due time charged a step penalty the model does not (differential
    sweep, 2026-12-04). Multi-GPU nodes (:func:`node_times`) walk their GPUs' free times.
    """
    release = problem.release if hold is None else problem.release + hold
    if problem.multi_gpu:
        return _server_eval_nodes(problem, member, s, lam, release)
    g = problem.server_class[s][:, None]
    k = problem.job_class[None, :]
    p = np.where(member, problem.work * problem.work_scale[k, g] / problem.throughput[k, g], 0.0)
    rel = np.broadcast_to(release, member.shape)
    start = np.zeros(member.shape)
    rows = np.arange(member.shape[0])
    t = np.zeros(member.shape[0])   # the server's previous completion
    # each chain's jobs on its server first, in dispatch order: q-th job of every chain
    order = np.argsort(~member, axis=1, kind="stable")
    count = member.sum(axis=1)
    for q in range(int(count.max()) if member.size else 0):
        j, on = order[:, q], q < count
        st = np.maximum(rel[rows, j], t)
        start[rows[on], j[on]] = st[on]
        t = np.where(on, st + p[rows, j], t)
    C = np.where(member, start + p, 0.0)
    used = member.any(axis=1)
    first = np.argmax(member, axis=1)
    last = member.shape[1] - 1 - np.argmax(member[:, ::-1], axis=1)
    s_col = s[:, None]
    dyn = np.where(member, problem.dyn_w[k, g] * price_integral(problem, s_col, start, C), 0.0)
    idle = problem.idle_w[s] * price_integral(problem, s, start[rows, first], C[rows, last])
    energy = np.where(used, (idle + dyn.sum(axis=1)) / JOULES_PER_KWH, 0.0)
    pen = np.where(member, penalties(problem, C), 0.0).sum(axis=1)
    fixed = np.where(member, problem.fixed_cost[k, g], 0.0).sum(axis=1)
    return energy + lam * pen + fixed, p.sum(axis=1)


def node_times(problem: ProblemArrays, member: np.ndarray, s: np.ndarray, p: np.ndarray,
               release: np.ndarray | None = None):
    """Starts and completions (n_chains, n_jobs) of the jobs ``member`` on nodes ``s`` with
    processing times ``p`` (0 off the node) and releases ``release`` (per job, or per chain
    and job with holds; None: the problem's): every chain's node keeps the sorted free
    times of its GPUs; job ``j`` starts at ``max(release, previous start, k-th smallest
    free time)`` and its completion replaces the ``k`` smallest (docs/model.md, part 2).
    One step per job, vectorised over chains."""
    nc, n = member.shape
    rel = np.broadcast_to(problem.release if release is None else release, (nc, n))
    G = problem.server_gpus[s].astype(np.int64)
    cols = np.arange(int(G.max()))[None, :]
    free = np.where(cols < G[:, None], 0.0, np.inf)   # sorted; missing GPUs never free
    prev = np.zeros(nc)
    start = np.zeros((nc, n))
    comp = np.zeros((nc, n))
    for j in range(n):
        rows = np.flatnonzero(member[:, j])
        if rows.size == 0:
            continue
        k = np.minimum(problem.job_gpus[j], G[rows])
        st = np.maximum(np.maximum(rel[rows, j], prev[rows]),
                        free[rows, k - 1])
        c = st + p[rows, j]
        f = np.where(cols < k[:, None], c[:, None], free[rows])
        f.sort(axis=1)
        free[rows] = f
        prev[rows] = st
        start[rows, j] = st
        comp[rows, j] = c
    return start, comp


def _server_eval_nodes(problem: ProblemArrays, member: np.ndarray, s: np.ndarray, lam,
                       release: np.ndarray):
    """:func:`server_eval` on a problem with multi-GPU nodes (idle from the first start
    to the latest completion; busy in GPU-seconds)."""
    g = problem.server_class[s][:, None]
    k = problem.job_class[None, :]
    p = np.where(member, problem.work * problem.work_scale[k, g] / problem.throughput[k, g], 0.0)
    start, C = node_times(problem, member, s, p, release)
    used = member.any(axis=1)
    first = np.argmax(member, axis=1)
    rows = np.arange(member.shape[0])
    on = start[rows, first]
    off = np.where(member, C, -np.inf).max(axis=1)
    off = np.where(used, off, 0.0)
    s_col = s[:, None]
    dyn = np.where(member, problem.dyn_w[k, g] * price_integral(problem, s_col, start, C), 0.0)
    idle = problem.idle_w[s] * price_integral(problem, s, on, off)
    energy = np.where(used, (idle + dyn.sum(axis=1)) / JOULES_PER_KWH, 0.0)
    pen = np.where(member, penalties(problem, C), 0.0).sum(axis=1)
    fixed = np.where(member, problem.fixed_cost[k, g], 0.0).sum(axis=1)
    return energy + lam * pen + fixed, (p * problem.job_gpus).sum(axis=1)


def overload(problem: ProblemArrays, s: np.ndarray, busy: np.ndarray) -> np.ndarray:
    return np.maximum(busy - problem.capacity[s], 0.0)


def draw_index(u: np.ndarray, n) -> np.ndarray:
    return np.minimum((u * n).astype(np.int64), np.asarray(n) - 1)


def hold_values(problem: ProblemArrays, x: np.ndarray, hold: np.ndarray, j: np.ndarray,
                s: np.ndarray, u: np.ndarray, walks: np.ndarray):
    """The hold move of job ``j[c]`` on server ``s[c]`` that draw ``u[c]`` picks, for the
    chains ``x``/``hold`` given: (new hold, whether it is a move). The candidates, drawn
    alike and computed with the same operations as :func:`satea.kernels.moves.hold_proposal`:
    0; a start, then a completion, at the next job's release on the server (none: the
    longest hold); a start and a completion at each price step inside the job's window
    (up to the last step of a curve that does not repeat)."""
    rows = np.arange(len(j))
    H = problem.hold_max[j]
    ok = (H > 0.0) & (walks[s] != 0)
    r = problem.release[j]
    k, g = problem.job_class[j], problem.server_class[s]
    p = problem.work[j] * problem.work_scale[k, g] / problem.throughput[k, g]
    after = (x == s[:, None]) & (np.arange(x.shape[1])[None, :] > j[:, None])
    has_next = after.any(axis=1)
    nx = np.argmax(after, axis=1)
    cid = problem.curve_id[s]
    on_curve = cid >= 0
    step = np.where(on_curve, np.asarray(problem.curve_step, np.float64)[np.maximum(cid, 0)]
                    if len(problem.curve_step) else 1.0, 1.0)
    inv = 1.0 / step
    k0 = np.where(on_curve, np.ceil(r * inv), 0.0)
    k1 = np.where(on_curve, np.floor((r + H) * inv), -1.0)
    if len(problem.curve_len):   # a series that does not repeat has no steps past its last
        c = np.maximum(cid, 0)
        last = np.asarray(problem.curve_len, np.float64)[c] - 1
        k1 = np.where(on_curve & (problem.curve_repeat[c] == 0) & (k1 > last), last, k1)
    n_steps = np.where(k1 >= k0, k1 - k0 + 1, 0).astype(np.int64)
    i = draw_index(u, 3 + 2 * n_steps)
    v_next = problem.release[nx] + hold[rows, nx] - r
    v_next = np.where(i == 2, v_next - p, v_next)
    q = np.maximum(i - 3, 0)
    v_step = (k0 + (q // 2)) * step - r
    v_step = np.where(q % 2 == 1, v_step - p, v_step)
    v = np.where(i == 0, 0.0, np.where(i <= 2, np.where(has_next, v_next, H), v_step))
    v = np.where(v < 0.0, 0.0, v)
    v = np.where(v > H, H, v)
    return v, ok & (v != hold[rows, j])


def allowed_server(problem: ProblemArrays, k: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Server of rank floor(u * n_allowed) among those job class ``k`` may use."""
    cum = problem.allowed_cum[k]                      # (n, G + 1)
    r = draw_index(u, cum[:, -1])
    g = (cum[:, :-1] <= r[:, None]).sum(axis=1) - 1   # last class starting at or before r
    return problem.servers_by_class[problem.class_ptr[g] + r - cum[np.arange(len(k)), g]]


class NumpyReferenceBackend(Backend):
    """Vectorised over chains; the readable truth the fast backends are checked against."""

    name = "numpy"
    # each move costs O(n_jobs * chains) here: the reference checks, it does not race
    max_default_sweeps = 500

    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        self.problem, self.spec = problem, spec
        nc, n, m = spec.n_chains, problem.n_jobs, problem.n_servers
        self.rng = seed_states(spec.seed, spec.chain_ids)
        if spec.x0 is None:
            x = np.empty((nc, n), np.int64)
            for j in range(n):  # one draw per job, in job order: the kernels' order
                x[:, j] = allowed_server(problem, np.full(nc, problem.job_class[j]),
                                         next_uniform_np(self.rng))
        else:
            x = np.asarray(spec.x0, np.int64).copy()
        self.x = x
        self.holds = problem.has_holds
        self.p_hold = spec.p_hold if self.holds else 0.0
        self.hold = (np.zeros((nc, n)) if spec.h0 is None or not self.holds
                     else np.asarray(spec.h0, np.float64).copy())
        self.best_hold = self.hold.copy()
        self.walks = problem_walks(problem)
        self.lam = np.asarray(spec.lams, np.float64)
        self.t_scale = spec.chain_t_scale()
        self.srv_cost, self.srv_busy = np.zeros((nc, m)), np.zeros((nc, m))
        for s in range(m):
            col = np.full(nc, s)
            self.srv_cost[:, s], self.srv_busy[:, s] = server_eval(problem, x == s, col, self.lam,
                                                                   self._hold())
        self.cost, self.viol = self._totals()
        self.best_x = x.copy()
        self.best_feasible = np.full(nc, np.inf)
        self.best_any = np.full(nc, np.inf)
        self.accepted = np.zeros(nc)

    def set_t_scale(self, t_scale: np.ndarray) -> None:
        self.t_scale = np.asarray(t_scale, np.float64).copy()

    def _hold(self, rows=slice(None)):
        """The chains' holds for :func:`server_eval` (None when no job may be held)."""
        return self.hold[rows] if self.holds else None

    def gather(self, parents: np.ndarray) -> None:
        for name in ("x", "hold", "srv_cost", "srv_busy", "cost", "viol"):
            setattr(self, name, getattr(self, name)[parents].copy())

    def _totals(self):
        viol = overload(self.problem, np.arange(self.problem.n_servers)[None, :], self.srv_busy)
        return self.srv_cost.sum(axis=1), viol.sum(axis=1)

    def step(self, beta: np.ndarray | float) -> None:
        """One attempted move of every chain at inverse temperature ``beta`` (per chain,
        or one for all: ``satea bench`` times these)."""
        pr, sp, x = self.problem, self.spec, self.x
        nc, n = x.shape
        rows = np.arange(nc)
        u_kind, u_job, u_target, u_accept = (next_uniform_np(self.rng) for _ in range(4))
        j1 = draw_index(u_job, n)
        a = x[rows, j1]
        swap = u_kind < sp.p_swap
        hold = ~swap & (u_kind < sp.p_swap + self.p_hold)   # none when p_hold = 0
        # swap: j2 takes a's place and j1 takes j2's server, if both pairs are allowed
        j2 = np.where(swap, draw_index(u_target, n), -1)
        b_swap = x[rows, np.maximum(j2, 0)]
        swap_ok = (pr.is_allowed(np.maximum(j2, 0), a) & pr.is_allowed(j1, b_swap))
        b = np.where(swap, np.where(swap_ok, b_swap, a),
                     allowed_server(pr, pr.job_class[j1], u_target))
        b = np.where(hold, a, b)    # a hold move keeps the job where it is
        live = b != a
        # members of a and b after the move
        idx = np.arange(n)[None, :]
        moved_out_a = idx == j1[:, None]
        moved_in_a = swap[:, None] & (idx == j2[:, None])
        member_a = ((x == a[:, None]) & ~moved_out_a) | moved_in_a
        member_b = ((x == b[:, None]) & ~moved_in_a) | moved_out_a
        cost_a, busy_a = server_eval(pr, member_a, a, self.lam, self._hold())
        cost_b, busy_b = server_eval(pr, member_b, b, self.lam, self._hold())
        d_cost = cost_a + cost_b - self.srv_cost[rows, a] - self.srv_cost[rows, b]
        d_viol = (overload(pr, a, busy_a) + overload(pr, b, busy_b)
                  - overload(pr, a, self.srv_busy[rows, a])
                  - overload(pr, b, self.srv_busy[rows, b]))
        delta = d_cost + sp.cap_weight * d_viol
        with np.errstate(over="ignore"):
            accept = live & ((delta <= 0) | (u_accept < np.exp(-beta * delta)))
        c = rows[accept]
        x[c, j1[accept]] = b[accept]
        sw = c[swap[accept]]
        x[sw, j2[sw]] = a[sw]
        self.srv_cost[c, a[accept]] = cost_a[accept]
        self.srv_busy[c, a[accept]] = busy_a[accept]
        self.srv_cost[c, b[accept]] = cost_b[accept]
        self.srv_busy[c, b[accept]] = busy_b[accept]
        self.accepted += accept
        if hold.any():
            betas = np.broadcast_to(np.asarray(beta, np.float64), (nc,))
            self._hold_step(rows[hold], j1[hold], a[hold], u_target[hold], u_accept[hold],
                            betas[hold])

    def _hold_step(self, c, j, s, u, u_accept, beta) -> None:
        """The hold moves of chains ``c``: job ``j[i]`` on server ``s[i]`` (not moving) gets
        the hold :func:`hold_values` draws; server ``s[i]`` re-scored with it."""
        pr = self.problem
        v, live = hold_values(pr, self.x[c], self.hold[c], j, s, u, self.walks)
        i = np.arange(len(c))
        trial = self.hold[c].copy()
        trial[i, j] = v
        cost, _busy = server_eval(pr, self.x[c] == s[:, None], s, self.lam[c], trial)
        delta = cost - self.srv_cost[c, s]
        with np.errstate(over="ignore"):
            accept = live & ((delta <= 0) | (u_accept < np.exp(-beta * delta)))
        self.hold[c[accept], j[accept]] = v[accept]
        self.srv_cost[c[accept], s[accept]] = cost[accept]
        self.accepted[c] += accept

    def run_block(self, sweep0: int, betas: np.ndarray) -> np.ndarray:
        n_sweeps = len(betas)
        trace = np.empty(n_sweeps)
        for i in range(n_sweeps):
            beta = float(betas[i]) / self.t_scale   # one per chain
            for _ in range(self.spec.moves(self.problem.n_jobs)):
                self.step(beta)
            # the chain's best is taken at sweep boundaries, as in the kernels
            self.cost, self.viol = self._totals()
            self._keep_best()
            trace[i] = np.where(np.isfinite(self.best_feasible), self.best_feasible,
                                self.best_any).min()
        return trace

    def _keep_best(self) -> None:
        """Each chain's best from its current state (feasible: every server within its
        capacity, :meth:`ProblemArrays.within_capacity`, as ``kernels.moves.keep_best``
        decides)."""
        feas = self.problem.within_capacity(self.srv_busy).all(axis=1)
        better = feas & (self.cost < self.best_feasible)
        self.best_feasible[better] = self.cost[better]
        search = self.cost + self.spec.cap_weight * self.viol
        better_any = ~feas & np.isinf(self.best_feasible) & (search < self.best_any)
        self.best_any[better_any] = search[better_any]
        keep = better | better_any
        self.best_x[keep] = self.x[keep]
        self.best_hold[keep] = self.hold[keep]

    def chain_x(self, c: int) -> np.ndarray:
        return self.best_x[c].astype(np.int32)

    def chain_hold(self, c: int) -> np.ndarray | None:
        return self.best_hold[c].copy() if self.holds else None

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        return ChainSnapshot(best_x=self.best_x.astype(np.int32) if with_x else None,
                             best_feasible=self.best_feasible.copy(),
                             best_any=self.best_any.copy(), accepted=self.accepted.copy(),
                             cost=self.cost.copy(), viol=self.viol.copy(),
                             best_hold=(self.best_hold.copy() if with_x and self.holds
                                        else None))
