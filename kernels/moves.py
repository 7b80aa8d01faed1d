"""Per-chain annealing logic, written once for the CPU (njit) and the GPU (cuda.jit).

Everything here is a scalar function over flat arrays, registered with
``register_jitable`` so that both ``numba.njit`` and ``numba.cuda.jit`` kernels inline it.

Problem arrays travel as one tuple ``P`` (see :data:`PROBLEM_FIELDS`, built by
:func:`problem_tuple`), one array per field. (Packing each job's fields into one 64-byte
row made the CPU kernel 20% faster and the GPU kernel slower on an H200, 2026-11-26:
benchmarks/results/README.md.) Chain state travels as flat arrays; element ``i`` of a length-``L``
per-chain array of chain ``c`` sits at :func:`ix` ``(c, i, L, nc, cm)``: row-major per chain
on the CPU (``cm=True``: a thread owns a contiguous row) and interleaved on the GPU
(``cm=False``: neighbouring threads read neighbouring words).

Chain state (per chain):

* ``x[N]``: server of each job (internal, dispatch-ordered job indices);
* ``nxt[N]`` and ``head[S]``: each server's jobs as a singly linked list in ascending job
  index, which is the dispatch order, so a server's schedule is a walk of its list;
* ``srv_cost[S]``: search cost of each server (energy + lambda * penalty + fixed cost);
* ``srv_busy[S]``: busy time of each server.

A move (shift one job, or swap two jobs' servers) re-evaluates only the two servers it
touches by walking their lists with the moved job skipped or merged in, so it costs
O(jobs on those two servers), never O(N).
"""
import math

from numba.extending import register_jitable

from .rng import next_uniform

PROBLEM_FIELDS = (
    "job_class", "work", "release", "due", "pen_kind", "pen_weight", "pen_scale",
    "server_class", "idle_w", "price_const", "curve_id", "capacity",
    "allowed", "work_scale", "throughput", "dyn_w", "fixed_cost",
    "curve_start", "curve_len", "curve_step", "curve_vals", "curve_cum",
    "class_ptr", "servers_by_class", "allowed_cum",
)
(JOB_CLASS, WORK, RELEASE, DUE, PEN_KIND, PEN_WEIGHT, PEN_SCALE,
 SERVER_CLASS, IDLE_W, PRICE_CONST, CURVE_ID, CAPACITY,
 ALLOWED, WORK_SCALE, THROUGHPUT, DYN_W, FIXED_COST,
 CURVE_START, CURVE_LEN, CURVE_STEP, CURVE_VALS, CURVE_CUM,
 CLASS_PTR, SERVERS_BY_CLASS, ALLOWED_CUM) = range(len(PROBLEM_FIELDS))

EXP_CAP = 20.0
#: per-chain scalars in ``chain_f`` (satea.backends.base names them)
NF = 7
JOULES_PER_KWH = 3.6e6


def problem_tuple(problem):
    """The arrays the kernels take, in :data:`PROBLEM_FIELDS` order, contiguous."""
    import numpy as np
    return tuple(np.ascontiguousarray(getattr(problem, f)) for f in PROBLEM_FIELDS)


@register_jitable
def ix(c, i, length, nc, cm):
    """Flat position of element ``i`` of chain ``c``'s length-``length`` array."""
    if cm:
        return c * length + i
    return i * nc + c


@register_jitable
def curve_cumulative(P, cid, t):
    """Integral of price curve ``cid`` over [0, t]."""
    start = P[CURVE_START][cid]
    n = P[CURVE_LEN][cid]
    step = P[CURVE_STEP][cid]
    period = step * n
    cycles = math.floor(t / period)
    r = t - cycles * period
    i = int(r / step)
    if i > n - 1:
        i = n - 1
    return (cycles * P[CURVE_CUM][start + cid + n] + P[CURVE_CUM][start + cid + i]
            + P[CURVE_VALS][start + i] * (r - i * step))


@register_jitable
def price_integral(P, s, a, b):
    """Integral of server ``s``'s price over [a, b], (currency/kWh) * s."""
    cid = P[CURVE_ID][s]
    if cid < 0:
        return P[PRICE_CONST][s] * (b - a)
    return curve_cumulative(P, cid, b) - curve_cumulative(P, cid, a)


@register_jitable
def job_penalty(P, j, completion):
    """Penalty of job ``j`` completing at ``completion`` (kinds: 1 step, 2 linear, 3 exp)."""
    lateness = completion - P[DUE][j]
    if not lateness > 0.0:
        return 0.0
    kind = P[PEN_KIND][j]
    weight = P[PEN_WEIGHT][j]
    if kind == 1:
        return weight
    if kind == 2:
        return weight * (lateness / P[PEN_SCALE][j])
    if kind == 3:
        u = lateness / P[PEN_SCALE][j]
        if u > EXP_CAP:
            u = EXP_CAP
        return weight * (math.exp(u) - 1.0)
    return 0.0


@register_jitable
def server_total(P, s, lam, first, t, busy, dyn, pen, fixed):
    """Search cost and busy time of a walked server (on from ``first`` to ``t``)."""
    if first < 0.0:
        return 0.0, 0.0
    energy = (P[IDLE_W][s] * price_integral(P, s, first, t) + dyn) / JOULES_PER_KWH
    return energy + lam * pen + fixed, busy


@register_jitable
def server_eval(P, nxt, head, c, nc, cm, n_jobs, n_servers, s, skip, ins, lam):
    """Search cost and busy time of server ``s`` with job ``skip`` removed and job ``ins``
    merged in at its dispatch position (either may be -1).

    Walks the server's list once: O(jobs on s).
    """
    g = P[SERVER_CLASS][s]
    t, first, busy, dyn, pen, fixed = 0.0, -1.0, 0.0, 0.0, 0.0, 0.0
    j = head[ix(c, s, n_servers, nc, cm)]
    while True:
        if j >= 0 and j == skip:
            j = nxt[ix(c, j, n_jobs, nc, cm)]
        if ins >= 0 and (j < 0 or ins < j):
            cur = ins
            ins = -1
        elif j >= 0:
            cur = j
            j = nxt[ix(c, j, n_jobs, nc, cm)]
        else:
            break
        k = P[JOB_CLASS][cur]
        p = P[WORK][cur] * P[WORK_SCALE][k, g] / P[THROUGHPUT][k, g]
        st = P[RELEASE][cur]
        if t > st:
            st = t
        if first < 0.0:
            first = st
        t = st + p
        busy += p
        dyn += P[DYN_W][k, g] * price_integral(P, s, st, t)
        fixed += P[FIXED_COST][k, g]
        pen += job_penalty(P, cur, t)
    return server_total(P, s, lam, first, t, busy, dyn, pen, fixed)


@register_jitable
def overload(P, s, busy):
    """Capacity violation of server ``s`` at the given busy time."""
    v = busy - P[CAPACITY][s]
    if v > 0.0:
        return v
    return 0.0


@register_jitable
def list_remove(nxt, head, c, nc, cm, n_jobs, n_servers, s, j):
    h = ix(c, s, n_servers, nc, cm)
    cur = head[h]
    if cur == j:
        head[h] = nxt[ix(c, j, n_jobs, nc, cm)]
        return
    while cur >= 0:
        nx = nxt[ix(c, cur, n_jobs, nc, cm)]
        if nx == j:
            nxt[ix(c, cur, n_jobs, nc, cm)] = nxt[ix(c, j, n_jobs, nc, cm)]
            return
        cur = nx


@register_jitable
def list_insert(nxt, head, c, nc, cm, n_jobs, n_servers, s, j):
    h = ix(c, s, n_servers, nc, cm)
    cur = head[h]
    if cur < 0 or j < cur:
        nxt[ix(c, j, n_jobs, nc, cm)] = cur
        head[h] = j
        return
    while True:
        nx = nxt[ix(c, cur, n_jobs, nc, cm)]
        if nx < 0 or j < nx:
            nxt[ix(c, j, n_jobs, nc, cm)] = nx
            nxt[ix(c, cur, n_jobs, nc, cm)] = j
            return
        cur = nx


@register_jitable
def draw_index(u, n):
    """floor(u * n) for u in [0, 1), kept below n against rounding."""
    i = int(u * n)
    if i >= n:
        i = n - 1
    return i


@register_jitable
def allowed_server(P, k, u):
    """The server of rank floor(u * n_allowed) among those job class ``k`` may use.

    Binary search over the (job class x server class) cumulative counts: O(log G).
    """
    n_classes = P[ALLOWED_CUM].shape[1] - 1
    r = draw_index(u, P[ALLOWED_CUM][k, n_classes])
    lo = 0
    hi = n_classes - 1
    while lo < hi:  # last class g with allowed_cum[k, g] <= r
        mid = (lo + hi + 1) // 2
        if P[ALLOWED_CUM][k, mid] <= r:
            lo = mid
        else:
            hi = mid - 1
    return P[SERVERS_BY_CLASS][P[CLASS_PTR][lo] + r - P[ALLOWED_CUM][k, lo]]


@register_jitable
def is_allowed(P, j, s):
    return P[ALLOWED][P[JOB_CLASS][j], P[SERVER_CLASS][s]] != 0


@register_jitable
def chain_init(P, x, nxt, head, srv_cost, srv_busy, rng, c, nc, cm, n_jobs, n_servers,
               lam, random_start):
    """Build chain ``c``'s lists and server costs from ``x`` (drawn first if
    ``random_start``, uniformly among each job's allowed servers). Returns
    (total search cost, total capacity violation). O(N + S)."""
    r0 = ix(c, 0, 2, nc, cm)
    r1 = ix(c, 1, 2, nc, cm)
    if random_start:
        for j in range(n_jobs):
            u = next_uniform(rng, r0, r1)
            x[ix(c, j, n_jobs, nc, cm)] = allowed_server(P, P[JOB_CLASS][j], u)
    for s in range(n_servers):
        head[ix(c, s, n_servers, nc, cm)] = -1
    for jj in range(n_jobs):  # push in descending order so lists come out ascending
        j = n_jobs - 1 - jj
        s = x[ix(c, j, n_jobs, nc, cm)]
        h = ix(c, s, n_servers, nc, cm)
        nxt[ix(c, j, n_jobs, nc, cm)] = head[h]
        head[h] = j
    return chain_resync(P, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers, lam)


@register_jitable
def chain_resync(P, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers, lam):
    """Recompute every server's cost from scratch: O(N + S). Returns (cost, violation)."""
    total = 0.0
    viol = 0.0
    for s in range(n_servers):
        cost, busy = server_eval(P, nxt, head, c, nc, cm, n_jobs, n_servers, s, -1, -1, lam)
        srv_cost[ix(c, s, n_servers, nc, cm)] = cost
        srv_busy[ix(c, s, n_servers, nc, cm)] = busy
        total += cost
        viol += overload(P, s, busy)
    return total, viol


@register_jitable
def chain_totals(P, srv_cost, srv_busy, c, nc, cm, n_servers):
    """Sum the maintained server costs: exact re-synchronisation of the running totals."""
    total = 0.0
    viol = 0.0
    for s in range(n_servers):
        total += srv_cost[ix(c, s, n_servers, nc, cm)]
        viol += overload(P, s, srv_busy[ix(c, s, n_servers, nc, cm)])
    return total, viol


@register_jitable
def propose(P, x, rng, c, nc, cm, n_jobs, p_swap):
    """Draw one move. Four uniforms per move, always, so streams stay aligned across
    backends. Returns (j1, j2, a, b, u_accept): job ``j1`` goes from server ``a`` to ``b``;
    for a swap ``j2 >= 0`` goes from ``b`` to ``a``. ``a == b`` marks a null move."""
    r0 = ix(c, 0, 2, nc, cm)
    r1 = ix(c, 1, 2, nc, cm)
    u_kind = next_uniform(rng, r0, r1)
    u_job = next_uniform(rng, r0, r1)
    u_target = next_uniform(rng, r0, r1)
    u_accept = next_uniform(rng, r0, r1)
    j1 = draw_index(u_job, n_jobs)
    a = x[ix(c, j1, n_jobs, nc, cm)]
    if u_kind < p_swap:
        j2 = draw_index(u_target, n_jobs)
        b = x[ix(c, j2, n_jobs, nc, cm)]
        if b == a or not is_allowed(P, j2, a) or not is_allowed(P, j1, b):
            return j1, -1, a, a, u_accept
        return j1, j2, a, b, u_accept
    b = allowed_server(P, P[JOB_CLASS][j1], u_target)
    return j1, -1, a, b, u_accept


@register_jitable
def move_delta(P, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers,
               j1, j2, a, b, lam, cap_weight):
    """Change of the search objective (cost + cap_weight * violation) if the move were made,
    and the two servers' new (cost, busy). O(jobs on a and b)."""
    ha = ix(c, a, n_servers, nc, cm)
    hb = ix(c, b, n_servers, nc, cm)
    cost_a, busy_a = server_eval(P, nxt, head, c, nc, cm, n_jobs, n_servers, a, j1, j2, lam)
    cost_b, busy_b = server_eval(P, nxt, head, c, nc, cm, n_jobs, n_servers, b, j2, j1, lam)
    d_cost = cost_a + cost_b - srv_cost[ha] - srv_cost[hb]
    d_viol = (overload(P, a, busy_a) + overload(P, b, busy_b)
              - overload(P, a, srv_busy[ha]) - overload(P, b, srv_busy[hb]))
    return d_cost + cap_weight * d_viol, d_cost, d_viol, cost_a, busy_a, cost_b, busy_b


@register_jitable
def move_apply(x, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers,
               j1, j2, a, b, cost_a, busy_a, cost_b, busy_b):
    """Make the move: relink the two lists and store the two servers' new cost and busy."""
    list_remove(nxt, head, c, nc, cm, n_jobs, n_servers, a, j1)
    list_insert(nxt, head, c, nc, cm, n_jobs, n_servers, b, j1)
    x[ix(c, j1, n_jobs, nc, cm)] = b
    if j2 >= 0:
        list_remove(nxt, head, c, nc, cm, n_jobs, n_servers, b, j2)
        list_insert(nxt, head, c, nc, cm, n_jobs, n_servers, a, j2)
        x[ix(c, j2, n_jobs, nc, cm)] = a
    srv_cost[ix(c, a, n_servers, nc, cm)] = cost_a
    srv_busy[ix(c, a, n_servers, nc, cm)] = busy_a
    srv_cost[ix(c, b, n_servers, nc, cm)] = cost_b
    srv_busy[ix(c, b, n_servers, nc, cm)] = busy_b


@register_jitable
def metropolis(delta, beta, u):
    """Accept downhill always, uphill with probability exp(-beta * delta)."""
    if delta <= 0.0:
        return True
    return u < math.exp(-beta * delta)


@register_jitable
def run_sweeps(P, x, nxt, head, srv_cost, srv_busy, rng, best_x, chain_f, c, nc, cm,
               n_jobs, n_servers, betas, sweep0, n_sweeps, p_swap, cap_weight, trace):
    """Run ``n_sweeps`` sweeps (``n_jobs`` attempted moves each) of chain ``c``.

    ``chain_f`` holds this chain's scalars at ``ix(c, i, NF, ...)``: 0 lambda, 1 running
    cost, 2 running violation, 3 best feasible cost (+inf: none yet), 4 best infeasible
    search objective, 5 accepted moves, 6 temperature scale (the chain's inverse
    temperature at sweep s is ``betas[s] / scale``: one schedule shape, per-chain levels).
    After each sweep the running totals are re-synchronised exactly from the server
    costs, and the chain's best is updated from
    the state at the sweep boundary (copying x there keeps a move O(jobs touched)).
    ``trace[i]`` (at ``ix(c, i, n_sweeps, ...)``) receives the chain's best after sweep i.
    """
    lam = chain_f[ix(c, 0, NF, nc, cm)]
    cost = chain_f[ix(c, 1, NF, nc, cm)]
    viol = chain_f[ix(c, 2, NF, nc, cm)]
    best_feasible = chain_f[ix(c, 3, NF, nc, cm)]
    best_any = chain_f[ix(c, 4, NF, nc, cm)]
    accepted = chain_f[ix(c, 5, NF, nc, cm)]
    t_scale = chain_f[ix(c, 6, NF, nc, cm)]
    for sw in range(n_sweeps):
        beta = betas[sweep0 + sw] / t_scale
        for _ in range(n_jobs):
            j1, j2, a, b, u = propose(P, x, rng, c, nc, cm, n_jobs, p_swap)
            if a == b:
                continue
            delta, d_cost, d_viol, cost_a, busy_a, cost_b, busy_b = move_delta(
                P, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers,
                j1, j2, a, b, lam, cap_weight)
            if metropolis(delta, beta, u):
                move_apply(x, nxt, head, srv_cost, srv_busy, c, nc, cm, n_jobs, n_servers,
                           j1, j2, a, b, cost_a, busy_a, cost_b, busy_b)
                cost += d_cost
                viol += d_viol
                accepted += 1.0
        cost, viol = chain_totals(P, srv_cost, srv_busy, c, nc, cm, n_servers)
        if viol == 0.0:
            if cost < best_feasible:
                best_feasible = cost
                for j in range(n_jobs):
                    best_x[ix(c, j, n_jobs, nc, cm)] = x[ix(c, j, n_jobs, nc, cm)]
        elif best_feasible == math.inf and cost + cap_weight * viol < best_any:
            best_any = cost + cap_weight * viol
            for j in range(n_jobs):
                best_x[ix(c, j, n_jobs, nc, cm)] = x[ix(c, j, n_jobs, nc, cm)]
        if best_feasible < math.inf:
            trace[ix(c, sw, n_sweeps, nc, cm)] = best_feasible
        else:
            trace[ix(c, sw, n_sweeps, nc, cm)] = best_any
    chain_f[ix(c, 1, NF, nc, cm)] = cost
    chain_f[ix(c, 2, NF, nc, cm)] = viol
    chain_f[ix(c, 3, NF, nc, cm)] = best_feasible
    chain_f[ix(c, 4, NF, nc, cm)] = best_any
    chain_f[ix(c, 5, NF, nc, cm)] = accepted
