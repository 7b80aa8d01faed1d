"""Per-chain annealing logic, written once for the CPU (njit) and the GPU (cuda.jit).

Everything here is a scalar function over flat arrays, registered with
``register_jitable`` so that both ``numba.njit`` and ``numba.cuda.jit`` kernels inline it.
The problem travels as the tuple ``P`` and a chain state as the tuple ``S``; their fields,
the per-chain scalar slots and the constants are named in :mod:`.layout`. Which chain a
function works on travels as one :data:`Chain` view ``ch``: the chain ``c`` of ``nc``, the
problem's sizes, and two flags the driver fixes when it is compiled (constants that the
compiler folds into every function, so neither costs a branch):

* ``cm``, the memory layout: element ``i`` of the chain's length-``L`` part of a state
  array sits at :func:`ix` ``(ch, i, L)``, row-major per chain (``cm=True``, the CPU's: a
  thread owns a contiguous row) or interleaved (``cm=False``, the GPU's: neighbouring
  threads read neighbouring words);
* ``caches``, the cache policy: keep each walked job's completion and cost and re-time
  only a move's suffix (the CPU's), or keep none and re-compute a changed server from its
  links (the GPU's, :func:`server_delta`).

and ``holds``: whether the code may meet a problem whose jobs may be held (docs/model.md,
part 3). The CPU's sweep is compiled for each value (a literal), so a problem without
holds runs code without any hold branch; where it is True each problem still says
whether it has holds (:func:`holds_on`).

A server's search cost splits in two (docs/model.md):

* **additive** terms, which depend only on (job, server): the assignment cost
  ``fixed_cost[k, g]`` and, at a constant price, the dynamic energy
  ``dyn_w * p * price / 3.6e6``. A move changes them in O(1).
* **schedule** terms, which depend on the timeline: idle energy over [first start, last
  completion], dynamic energy under a price curve, and lambda x penalties. Only servers
  with ``walks[s] = 1`` have them; the others (every generic assignment problem) never
  walk, and their chains keep no lists.

For walking servers a chain keeps each server's jobs as a doubly linked list in dispatch
(ascending index) order, each job's completion time ``comp`` and schedule cost ``jcost``
(time-of-use dynamic energy + lambda x penalty). A move that removes or inserts a job at
some position re-times only the jobs after it, and stops where the new timeline rejoins
the old one (a job completes exactly when it did, e.g. after an idle gap before a later
release absorbed the shift); the rest comes from the cache. Finding where an inserted job
goes walks from the nearer end of its list. Caches change on accepted moves only.
Linked lists rather than contiguous per-server slots: slots (no pointer chase, the
caches side by side) walked the same moves 15% slower on an annealed 1,000 x 100 fleet
and no faster at 100,000 x 10,000, and would shift a suffix on every accepted move
(``benchmarks/layout_probe.py``; results in benchmarks/README.md). The GPU
reads no caches: it re-computes a walking server from its links (:func:`walks_delta`).

Each function binds the state arrays it uses to locals on entry (``x_ = S[X]``, names
ending in ``_``): Numba cannot pair the reference counts of ``S[...]`` lookups repeated
in branches, and a move then cost ~20x more on the CPU (measured while writing this).
"""
import math
import types
from collections import namedtuple

from numba.extending import register_jitable

from .layout import (  # noqa: F401  (the names below are this module's public API too)
    ALLOWED, ALLOWED_CUM, BEST_HOLD, BEST_X, CAPACITY, CAPACITY_RTOL, CHAIN_F, CKPT,
    CLASS_PTR, COMP,
    CURVE_CUM, CURVE_ID, CURVE_INV_PERIOD, CURVE_INV_STEP, CURVE_LEN, CURVE_START, CURVE_STEP,
    CURVE_VALS,
    DUE, DYNW, DYN_W, EXP_CAP, FIXED_COST, FREE, F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE,
    F_COST, F_LAM, F_PHOLD, F_TSCALE, F_VIOL, HEAD, HOLD, HOLD_MAX, IDLE_W, JCOST, JOB_CLASS,
    JOB_GPUS, JOULES_PER_KWH, JSTART, NODE_OFF, NXT, N_CHAIN_F, PEN_EXP, PEN_KIND,
    PEN_LINEAR, PEN_SCALE, PEN_STEP, PEN_WEIGHT, PRICE_CONST, PROBLEM_FIELDS, PROC, PRV,
    RELEASE, RELEASE_CUM, RESYNC_SWEEPS, RNG, RNG_STRIDE, SERVERS_BY_CLASS, SERVER_CLASS,
    SERVER_GPUS, SRV_BUSY, SRV_COST, TAIL, THROUGHPUT, WALKS, WORK, WORK_SCALE, X,
    problem_tuple)
from .rng import next_uniform

NF = N_CHAIN_F

#: one proposed move: job ``j1`` goes from server ``a`` to ``b``; for a swap ``j2 >= 0``
#: goes from ``b`` to ``a`` (``j2 = -1``: a shift); ``a == b``: a null move, except a hold
#: move (``j2 = HOLD_MOVE``): job ``j1`` stays on ``a == b`` and is held ``h`` seconds
#: from its release (docs/model.md, part 3; ``h`` is 0 for other moves); ``u`` is the
#: Metropolis draw
Move = namedtuple("Move", ("j1", "j2", "a", "b", "u", "h"))
HOLD_MOVE = -2
#: what a move would change: the search objective's change (cost + cap_weight x
#: violation), its cost and violation parts, and the two servers' new cost and busy time
Delta = namedtuple("Delta", ("delta", "d_cost", "d_viol", "cost_a", "busy_a", "cost_b",
                             "busy_b"))
#: exp(-40) = 4.2e-18 lies below the smallest positive uniform draw, 2**-53 (:mod:`.rng`)
METROPOLIS_CUT = 40.0
UNIFORM_ULP = 2.0 ** -53


#: one chain's context (see the module docstring): every per-chain function takes it
Chain = namedtuple("Chain", ("c", "nc", "cm", "caches", "n_jobs", "n_servers", "holds"))


@register_jitable
def ix(ch, i, length):
    """Flat position of element ``i`` of chain ``ch``'s length-``length`` array."""
    if ch.cm:
        return ch.c * length + i
    return i * ch.nc + ch.c


@register_jitable
def jx(ch, j):
    """:func:`ix` of a per-job array (length ``n_jobs``)."""
    return ix(ch, j, ch.n_jobs)


@register_jitable
def sx(ch, s):
    """:func:`ix` of a per-server array (length ``n_servers``)."""
    return ix(ch, s, ch.n_servers)


@register_jitable
def holds_on(P, ch):
    """Whether chain ``ch``'s problem ``P`` has jobs that may be held (a constant False
    where the code was compiled without holds)."""
    return ch.holds and P[HOLD_MAX].shape[0] > 0


@register_jitable
def hold_of(P, hold_, ch, j, hj, hv):
    """Job ``j``'s hold: ``hv`` for job ``hj`` (a proposed hold move; -1: none), else the
    chain's; 0 without reading the state when no job may be held."""
    if not holds_on(P, ch):
        return 0.0
    if j == hj:
        return hv
    return hold_[jx(ch, j)]


# ---- prices and penalties -------------------------------------------------------------

@register_jitable
def curve_cumulative(P, cid, t):
    """Integral of price curve ``cid`` over [0, t].

    Multiplies by the step's and period's reciprocals rather than dividing: where the
    rounded product picks the neighbouring step (t at a boundary), the piecewise-linear
    integral is continuous there, so the value is the same up to rounding. Within the
    first period (most schedules) no cycle count is taken."""
    start = P[CURVE_START][cid]
    n = P[CURVE_LEN][cid]
    step = P[CURVE_STEP][cid]
    period = step * n
    cycles = 0.0
    r = t
    if not (t >= 0.0 and t < period):
        cycles = math.floor(t * P[CURVE_INV_PERIOD][cid])
        r = t - cycles * period
    i = int(r * P[CURVE_INV_STEP][cid])
    if i > n - 1:
        i = n - 1
    if i < 0:   # far out (t ~ 1e14 s on a 1 ms curve) the rounded cycle count can overshoot
        i = 0
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
    """Penalty of job ``j`` completing at ``completion`` (kinds in :mod:`.layout`)."""
    lateness = completion - P[DUE][j]
    if not lateness > 0.0:
        return 0.0
    kind = P[PEN_KIND][j]
    weight = P[PEN_WEIGHT][j]
    if kind == PEN_STEP:
        return weight
    if kind == PEN_LINEAR:
        return weight * (lateness / P[PEN_SCALE][j])
    if kind == PEN_EXP:
        u = lateness / P[PEN_SCALE][j]
        if u > EXP_CAP:
            u = EXP_CAP
        return weight * (math.exp(u) - 1.0)
    return 0.0


@register_jitable
def additive_cost(P, j, s):
    """The terms of job ``j`` on server ``s`` that do not depend on when it runs: the
    assignment cost and, at a constant price, its dynamic energy. O(1)."""
    g = P[SERVER_CLASS][s]
    cost = P[FIXED_COST][P[JOB_CLASS][j], g]
    if P[CURVE_ID][s] < 0:
        cost += P[DYNW][g, j] * (P[PRICE_CONST][s] * P[PROC][g, j]) / JOULES_PER_KWH
    return cost


@register_jitable
def job_step(P, g, cid, j, h, t, a_t, lam):
    """Run job ``j``, held ``h``, on a server of class ``g`` (price curve ``cid``, -1:
    constant) after the previous job completed at ``t`` (``a_t``: the curve's integral up
    to ``t``).

    Returns (start, completion, integral up to completion, schedule cost of the job).
    """
    r = P[RELEASE][j] + h
    # selects, not branches: whether a release binds is data a CPU cannot predict (the
    # integral up to a release is tabled per curve; a held job's is computed)
    st = max(r, t)
    a_st = a_t
    if cid >= 0:
        a_st = P[RELEASE_CUM][cid, j] if r > t else a_t
        if h != 0.0 and r > t:
            a_st = curve_cumulative(P, cid, r)
    comp = st + P[PROC][g, j]
    cost = lam * job_penalty(P, j, comp)
    a_c = 0.0
    if cid >= 0:
        a_c = curve_cumulative(P, cid, comp)
        cost += P[DYNW][g, j] * (a_c - a_st) / JOULES_PER_KWH
    return st, comp, a_c, cost


@register_jitable
def idle_cost(P, s, on, off):
    """Idle energy cost of server ``s`` switched on over [on, off]."""
    return P[IDLE_W][s] * price_integral(P, s, on, off) / JOULES_PER_KWH


@register_jitable
def overload(P, s, busy):
    """Capacity violation of server ``s`` at the given busy time."""
    v = busy - P[CAPACITY][s]
    if v > 0.0:
        return v
    return 0.0


# ---- per-server job lists (walking servers only) ------------------------------------------

@register_jitable
def find_pred(S, ch, s, j):
    """The last job on server ``s`` dispatched before job ``j`` (-1: none; ``j`` is not on
    ``s``). Walks from the end of the list whose job index is nearer to ``j`` (a guess of
    the shorter side: jobs spread evenly over the dispatch order)."""
    head_, tail_, nxt_, prv_ = S[HEAD], S[TAIL], S[NXT], S[PRV]
    h = head_[sx(ch, s)]
    if h < 0 or j < h:
        return -1
    t = tail_[sx(ch, s)]
    if j > t:
        return t
    if j - h < t - j:
        cur = h
        while True:
            nx = nxt_[jx(ch, cur)]
            if nx < 0 or nx > j:
                return cur
            cur = nx
    cur = t
    while cur > j:
        cur = prv_[jx(ch, cur)]
    return cur


@register_jitable
def list_unlink(S, ch, s, j):
    prv_, nxt_, head_, tail_ = S[PRV], S[NXT], S[HEAD], S[TAIL]
    p = prv_[jx(ch, j)]
    q = nxt_[jx(ch, j)]
    if p >= 0:
        nxt_[jx(ch, p)] = q
    else:
        head_[sx(ch, s)] = q
    if q >= 0:
        prv_[jx(ch, q)] = p
    else:
        tail_[sx(ch, s)] = p


@register_jitable
def list_link_after(S, ch, s, p, j):
    """Link job ``j`` into server ``s``'s list right after job ``p`` (-1: at the head)."""
    nxt_, head_, prv_, tail_ = S[NXT], S[HEAD], S[PRV], S[TAIL]
    if p >= 0:
        q = nxt_[jx(ch, p)]
        nxt_[jx(ch, p)] = j
    else:
        q = head_[sx(ch, s)]
        head_[sx(ch, s)] = j
    if q >= 0:
        prv_[jx(ch, q)] = j
    else:
        tail_[sx(ch, s)] = j
    prv_[jx(ch, j)] = p
    nxt_[jx(ch, j)] = q


# ---- schedule part of a server: full walk, delta walk, re-timing walk ---------------------

@register_jitable
def server_rebuild(P, S, ch, s, lam):
    """Walk server ``s``'s whole list, store every job's completion and schedule cost (on
    the CPU: the GPU keeps neither, see :func:`walks_delta`), and return the server's
    schedule cost. O(jobs on s)."""
    head_, comp_, jcost_, nxt_, hold_ = S[HEAD], S[COMP], S[JCOST], S[NXT], S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    t, a_t, total, on = 0.0, 0.0, 0.0, -1.0
    j = head_[sx(ch, s)]
    while j >= 0:
        st, t, a_t, cost = job_step(P, g, cid, j, hold_of(P, hold_, ch, j, -1, 0.0), t, a_t,
                                    lam)
        if on < 0.0:
            on = st
        if ch.caches:
            comp_[jx(ch, j)] = t
            jcost_[jx(ch, j)] = cost
        total += cost
        j = nxt_[jx(ch, j)]
    if on >= 0.0 and P[IDLE_W][s] > 0.0:
        total += idle_cost(P, s, on, t)
    return total


@register_jitable
def next_merged(nxt_, ch, cur, ins, out):
    """One step of a walk over a server's list with job ``out`` skipped and job ``ins``
    merged in at its dispatch position: (next job or -1 at the end, cur, ins)."""
    if cur >= 0 and cur == out:
        cur = nxt_[jx(ch, out)]
    if ins >= 0 and (cur < 0 or ins < cur):
        return ins, cur, -1
    if cur >= 0:
        return cur, nxt_[jx(ch, cur)], ins
    return -1, cur, ins


@register_jitable
def walk_delta(P, S, ch, s, out, inn, lam, limit, hj, hv):
    """Change of server ``s``'s schedule cost if job ``out`` left it and job ``inn`` joined
    it (either may be -1; both the same job for a hold move, job ``hj`` held ``hv``:
    :func:`hold_of`). Re-times only the jobs from the first edit on and stops where
    the timeline rejoins the old one. Reads the caches, writes nothing.

    A pure insertion (``out < 0``) after the first job of a server at a constant price
    only delays jobs, so every term it has still to add is >= 0 (penalties grow with
    completion; the server switches on as before and off no earlier, which costs more
    only at a price >= 0: a negative price never stops early): once the sum so far exceeds
    ``limit`` that sum is
    returned, a lower bound of the change (``limit = inf``: always the exact change).
    An insertion at the head may start the server later, so it never stops early."""
    prv_, comp_, nxt_, head_, jcost_, tail_ = S[PRV], S[COMP], S[NXT], S[HEAD], S[JCOST], S[TAIL]
    hold_ = S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    last_edit = out if out > inn else inn
    if out >= 0 and (inn < 0 or out <= inn):
        pred = prv_[jx(ch, out)]
    else:
        pred = find_pred(S, ch, s, inn)
    t, a_t = 0.0, 0.0
    if pred >= 0:
        t = comp_[jx(ch, pred)]
        if cid >= 0:
            a_t = curve_cumulative(P, cid, t)
        cur = nxt_[jx(ch, pred)]
    else:
        cur = head_[sx(ch, s)]
    d = 0.0
    if out >= 0:  # it lies after pred, and no rejoin comes before the last edit
        d = -jcost_[jx(ch, out)]
    first = -1.0   # new first start, when the head changes (pred < 0)
    ins = inn
    rejoined = False
    while True:
        j, cur, ins = next_merged(nxt_, ch, cur, ins, out)
        if j < 0:
            break
        st, comp, a_c, cost = job_step(P, g, cid, j, hold_of(P, hold_, ch, j, hj, hv), t,
                                       a_t, lam)
        if first < 0.0:
            first = st
        if j == inn:
            d += cost
        else:
            if j > last_edit and comp == comp_[jx(ch, j)]:
                rejoined = True  # every later job runs as before
                break
            d += cost - jcost_[jx(ch, j)]
        if d > limit and out < 0 and cid < 0 and pred >= 0 and P[PRICE_CONST][s] >= 0.0:
            return d
        t = comp
        a_t = a_c
    if P[IDLE_W][s] > 0.0 and not (rejoined and pred >= 0):
        on_new = -1.0
        h = head_[sx(ch, s)]
        if h >= 0:  # the old on-time
            on_old = P[RELEASE][h] + hold_of(P, hold_, ch, h, -1, 0.0)
            if on_old < 0.0:
                on_old = 0.0
            off_old = comp_[jx(ch, tail_[sx(ch, s)])]
            d -= idle_cost(P, s, on_old, off_old)
            on_new = on_old
        if pred < 0:
            on_new = first
        if rejoined:
            off_new = comp_[jx(ch, tail_[sx(ch, s)])]
        else:
            off_new = t
        if on_new >= 0.0:  # the server still runs something
            d += idle_cost(P, s, on_new, off_new)
    return d


@register_jitable
def retime(P, S, ch, s, pred, last_edit, lam):
    """After a relink of server ``s``, store the new completions and job costs of the jobs
    after ``pred`` (-1: from the head) until the timeline rejoins the old one past job
    ``last_edit``."""
    comp_, nxt_, head_, jcost_, hold_ = S[COMP], S[NXT], S[HEAD], S[JCOST], S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    t, a_t = 0.0, 0.0
    if pred >= 0:
        t = comp_[jx(ch, pred)]
        if cid >= 0:
            a_t = curve_cumulative(P, cid, t)
        j = nxt_[jx(ch, pred)]
    else:
        j = head_[sx(ch, s)]
    while j >= 0:
        st, comp, a_c, cost = job_step(P, g, cid, j, hold_of(P, hold_, ch, j, -1, 0.0), t,
                                       a_t, lam)
        k = jx(ch, j)
        if j > last_edit and comp == comp_[k]:
            break
        comp_[k] = comp
        jcost_[k] = cost
        t = comp
        a_t = a_c
        j = nxt_[k]


# ---- multi-GPU nodes (docs/model.md, part 2) ----------------------------------------------
#
# During a walk a node of G GPUs keeps the free time of each GPU, sorted ascending, in the
# chain's scratch ``S[FREE]``. A job asking k GPUs starts at max(release, previous start
# on the node, k-th smallest free time) and takes the k GPUs that freed up first
# (:func:`fs_take`). Free times below the previous start never matter (no later job starts
# before it), so a state may be kept clamped there.
#
# On the CPU a chain caches, per job on such a node, its start (``JSTART``) and a
# checkpoint of the node's free times just after it started, clamped at its start
# (``CKPT``, G words), and per node its latest completion (``NODE_OFF``). A walk loads the
# checkpoint of the job before its edit (G words, no job visited), re-times forward
# carrying the new timeline's free times, and stops at the first job past the last edit
# whose start is unchanged and whose free times (clamped at its start) equal its
# checkpoint, the old timeline's: every later job then runs as before, and the node's
# latest completion is the old one. A stored walk rewrites the checkpoints of the jobs it
# visited. (Rebuilding the free times from the jobs still running at the edit instead,
# 12 bytes a job, read back 10-12 jobs a move and made a node walk 1.4-1.5x slower:
# benchmarks/README.md, "Results: node walks from per-job checkpoints".)

@register_jitable
def fs_fill(free_, ch, L, base, G, v):
    """Set the G free times at ``base`` of chain ``c``'s scratch (length ``L``) to ``v``."""
    for i in range(G):
        free_[ix(ch, base + i, L)] = v


@register_jitable
def fs_take(free_, ch, L, base, G, k, comp):
    """The k GPUs that free up first (the k smallest of the sorted free times at ``base``)
    run a job until ``comp``: the array stays sorted. O(G)."""
    i = k
    while i < G:
        v = free_[ix(ch, base + i, L)]
        if not v < comp:
            break
        free_[ix(ch, base + i - k, L)] = v
        i += 1
    for q in range(i - k, i):
        free_[ix(ch, base + q, L)] = comp


@register_jitable
def node_step(P, g, cid, j, h, free_, ch, L, base, G, ps, lam):
    """Run job ``j``, held ``h``, on a node of class ``g`` (price curve ``cid``) whose
    previous job started at ``ps``, with the free times at ``base``; they are updated.

    Returns (start, completion, schedule cost of the job). A job asking more GPUs than
    the node has (only a warm start can place one there; infeasible) takes them all."""
    k = min(P[JOB_GPUS][j], G)
    t = free_[ix(ch, base + k - 1, L)]
    if ps > t:
        t = ps
    r = P[RELEASE][j] + h
    st = max(r, t)
    comp = st + P[PROC][g, j]
    cost = lam * job_penalty(P, j, comp)
    if cid >= 0:
        if r > t and h != 0.0:
            a_st = curve_cumulative(P, cid, r)
        elif r > t:
            a_st = P[RELEASE_CUM][cid, j]
        else:
            a_st = curve_cumulative(P, cid, t)
        cost += P[DYNW][g, j] * (curve_cumulative(P, cid, comp) - a_st) / JOULES_PER_KWH
    fs_take(free_, ch, L, base, G, k, comp)
    return st, comp, cost


@register_jitable
def ck_at(S, ch, j, i):
    """Position of free time ``i`` of job ``j``'s checkpoint in ``S[CKPT]``."""
    gm = S[CKPT].shape[0] // (ch.nc * ch.n_jobs)
    return ix(ch, j * gm + i, ch.n_jobs * gm)


@register_jitable
def ck_write(S, ch, L, j, G, st):
    """Store the free times at 0 of the scratch (length ``L``), clamped at ``st``, as job
    ``j``'s checkpoint."""
    free_, ck_ = S[FREE], S[CKPT]
    for i in range(G):
        v = free_[ix(ch, i, L)]
        ck_[ck_at(S, ch, j, i)] = v if v > st else st


@register_jitable
def ck_same(S, ch, L, j, G, st):
    """Whether the free times at 0 of the scratch, clamped at ``st``, equal job ``j``'s
    checkpoint (stored clamped at its start, ``st``)."""
    free_, ck_ = S[FREE], S[CKPT]
    for i in range(G):
        v = free_[ix(ch, i, L)]
        if v < st:
            v = st
        if v != ck_[ck_at(S, ch, j, i)]:
            return False
    return True


@register_jitable
def node_walk(P, S, ch, s, out, o_st, o_c, o_cost, inn, lam, limit, store, hj, hv):
    """Change of node ``s``'s schedule cost if job ``out`` (which started at ``o_st``,
    completed at ``o_c`` and cost ``o_cost``) left it and job ``inn`` joined it (either
    may be -1; both the same job for a hold move, job ``hj`` held ``hv``), walked on the
    lists as they are before the move (CPU caches).

    With ``store`` the new starts, completions, job costs and checkpoints are written
    for the jobs visited before the rejoin (and ``inn``; the rejoin's own checkpoint is
    already the new one) and the node's latest completion: the move is
    being made (the lists are relinked after). ``limit`` as in :func:`walk_delta`."""
    prv_, comp_, nxt_, head_, jcost_ = S[PRV], S[COMP], S[NXT], S[HEAD], S[JCOST]
    jstart_, off_, free_ = S[JSTART], S[NODE_OFF], S[FREE]
    hold_ = S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    G = P[SERVER_GPUS][s]
    L = free_.shape[0] // ch.nc
    last_edit = out if out > inn else inn
    if out >= 0 and (inn < 0 or out <= inn):
        pred = prv_[jx(ch, out)]
    else:
        pred = find_pred(S, ch, s, inn)
    if pred >= 0:
        ps = jstart_[jx(ch, pred)]
        ck_ = S[CKPT]
        for i in range(G):
            free_[ix(ch, i, L)] = ck_[ck_at(S, ch, pred, i)]
        cur = nxt_[jx(ch, pred)]
    else:
        ps = 0.0
        fs_fill(free_, ch, L, 0, G, 0.0)
        cur = head_[sx(ch, s)]
    d = 0.0
    first = -1.0
    ins = inn
    rejoined = False
    while True:
        listed = False   # j comes from the list (a hold move's job: first from it, then as inn)
        if ins >= 0 and (cur < 0 or ins < cur):
            j = ins
            ins = -1
        elif cur >= 0:
            j = cur
            cur = nxt_[jx(ch, cur)]
            listed = True
        else:
            break
        if j == out and listed:   # gone from the new timeline
            d -= o_cost
            continue
        k = jx(ch, j)
        kj = min(P[JOB_GPUS][j], G)
        if j == inn:
            st, comp, cost = node_step(P, g, cid, j, hold_of(P, hold_, ch, j, hj, hv), free_,
                                       ch, L, 0, G, ps, lam)
            d += cost
        else:
            old_st = jstart_[k]
            old_c = comp_[k]
            t = free_[ix(ch, kj - 1, L)]
            hold_j = hold_of(P, hold_, ch, j, -1, 0.0)
            st = max(P[RELEASE][j] + hold_j, max(ps, t))
            if st == old_st:
                # the same start, so the same completion and cost (comp = st + p): only
                # the free times move on, until they rejoin the old ones
                fs_take(free_, ch, L, 0, G, kj, old_c)
                ps = st
                if first < 0.0:
                    first = st
                if j > last_edit and ck_same(S, ch, L, j, G, st):
                    rejoined = True   # every later job runs as before
                    break
                if store:
                    ck_write(S, ch, L, j, G, st)
                continue
            st, comp, cost = node_step(P, g, cid, j, hold_j, free_, ch, L, 0, G, ps, lam)
            d += cost - jcost_[k]
        ps = st
        if first < 0.0:
            first = st
        if store:
            jstart_[k] = st
            comp_[k] = comp
            jcost_[k] = cost
            ck_write(S, ch, L, j, G, st)
        elif d > limit and out < 0 and cid < 0 and pred >= 0 and P[PRICE_CONST][s] >= 0.0:
            return d
    hs = sx(ch, s)
    off_new = off_[hs]
    if not rejoined:
        off_new = free_[ix(ch, G - 1, L)]
    if store:
        off_[hs] = off_new
    elif P[IDLE_W][s] > 0.0 and not (rejoined and pred >= 0):
        on_new = -1.0
        h = head_[hs]
        if h >= 0:  # the old on-time (the first job starts at its release) and off-time
            on_old = P[RELEASE][h] + hold_of(P, hold_, ch, h, -1, 0.0)
            if on_old < 0.0:
                on_old = 0.0
            d -= idle_cost(P, s, on_old, off_[hs])
            on_new = on_old
        if pred < 0:
            on_new = first
        if on_new >= 0.0:  # the node still runs something
            d += idle_cost(P, s, on_new, off_new)
    return d


@register_jitable
def node_rebuild(P, S, ch, s, lam):
    """:func:`server_rebuild` of a multi-GPU node: walk its whole list, store (CPU) every
    job's start, completion, cost and checkpoint and the node's latest completion, and
    return its schedule cost. O(G x jobs on s)."""
    head_, comp_, jcost_, nxt_ = S[HEAD], S[COMP], S[JCOST], S[NXT]
    jstart_, off_, free_ = S[JSTART], S[NODE_OFF], S[FREE]
    hold_ = S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    G = P[SERVER_GPUS][s]
    L = free_.shape[0] // ch.nc
    fs_fill(free_, ch, L, 0, G, 0.0)
    ps, total, on = 0.0, 0.0, -1.0
    j = head_[sx(ch, s)]
    while j >= 0:
        st, comp, cost = node_step(P, g, cid, j, hold_of(P, hold_, ch, j, -1, 0.0), free_, ch,
                                   L, 0, G, ps, lam)
        ps = st
        if on < 0.0:
            on = st
        k = jx(ch, j)
        if ch.caches:
            jstart_[k] = st
            comp_[k] = comp
            jcost_[k] = cost
            ck_write(S, ch, L, j, G, st)
        total += cost
        j = nxt_[k]
    off = free_[ix(ch, G - 1, L)]
    if ch.caches:
        off_[sx(ch, s)] = off
    if on >= 0.0 and P[IDLE_W][s] > 0.0:
        total += idle_cost(P, s, on, off)
    return total


@register_jitable
def node_full(P, S, ch, s, out, inn, lam, hj, hv):
    """:func:`server_full` of a multi-GPU node (the GPU's way): its whole search cost with
    job ``out`` removed and ``inn`` merged in (job ``hj`` held ``hv``), from its links
    alone."""
    head_, nxt_, free_, hold_ = S[HEAD], S[NXT], S[FREE], S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    G = P[SERVER_GPUS][s]
    L = free_.shape[0] // ch.nc
    fs_fill(free_, ch, L, 0, G, 0.0)
    ps, total, on = 0.0, 0.0, -1.0
    cur = head_[sx(ch, s)]
    ins = inn
    while True:
        j, cur, ins = next_merged(nxt_, ch, cur, ins, out)
        if j < 0:
            break
        st, comp, cost = node_step(P, g, cid, j, hold_of(P, hold_, ch, j, hj, hv), free_, ch,
                                   L, 0, G, ps, lam)
        ps = st
        if on < 0.0:
            on = st
        total += cost + additive_cost(P, j, s)
    if on >= 0.0 and P[IDLE_W][s] > 0.0:
        total += idle_cost(P, s, on, free_[ix(ch, G - 1, L)])
    return total


# ---- chain set-up and exact re-synchronisation ------------------------------------------

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
    n_allowed = P[ALLOWED_CUM][k, n_classes]
    r = draw_index(u, n_allowed)
    if n_allowed == P[SERVERS_BY_CLASS].shape[0]:
        # every server allowed: rank r is servers_by_class[r], without the search's
        # unpredictable branches (every generic assignment problem)
        return P[SERVERS_BY_CLASS][r]
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
def chain_init(P, S, ch, random_start):
    """Draw chain ``c``'s assignment (if ``random_start``, uniformly among each job's
    allowed servers; else keep ``x``), build its lists and caches, and store its running
    cost and violation. O(N + S)."""
    rng_, x_ = S[RNG], S[X]
    r0 = ix(ch, 0, RNG_STRIDE)
    r1 = ix(ch, 1, RNG_STRIDE)
    if random_start:
        for j in range(ch.n_jobs):
            u = next_uniform(rng_, r0, r1)
            x_[jx(ch, j)] = allowed_server(P, P[JOB_CLASS][j], u)
    chain_resync(P, S, ch, True)


@register_jitable
def chain_resync(P, S, ch, relink):
    """Recompute every cache of chain ``c`` from its assignment (and, if ``relink``, its
    lists from ``x``); store the running cost and violation. O(N + S)."""
    (f_, cost_, busy_, head_, tail_, x_) = (
        S[CHAIN_F], S[SRV_COST], S[SRV_BUSY], S[HEAD], S[TAIL], S[X])
    lam = f_[ix(ch, F_LAM, NF)]
    for s in range(ch.n_servers):
        cost_[sx(ch, s)] = 0.0
        busy_[sx(ch, s)] = 0.0
        if relink and P[WALKS][s]:
            head_[sx(ch, s)] = -1
            tail_[sx(ch, s)] = -1
    for jj in range(ch.n_jobs):  # descending, so each list comes out ascending
        j = ch.n_jobs - 1 - jj
        s = x_[jx(ch, j)]
        hs = sx(ch, s)
        cost_[hs] += additive_cost(P, j, s)
        busy_[hs] += P[JOB_GPUS][j] * P[PROC][P[SERVER_CLASS][s], j]
        if relink and P[WALKS][s]:
            list_link_after(S, ch, s, -1, j)
    total = 0.0
    viol = 0.0
    for s in range(ch.n_servers):
        hs = sx(ch, s)
        if P[WALKS][s]:
            if P[SERVER_GPUS][s] > 1:
                cost_[hs] += node_rebuild(P, S, ch, s, lam)
            else:
                cost_[hs] += server_rebuild(P, S, ch, s, lam)
        total += cost_[hs]
        viol += overload(P, s, busy_[hs])
    f_[ix(ch, F_COST, NF)] = total
    f_[ix(ch, F_VIOL, NF)] = viol


@register_jitable
def chain_totals(P, S, ch):
    """Sum the maintained server costs and violations (no drift in the running totals)."""
    cost_, busy_ = S[SRV_COST], S[SRV_BUSY]
    total = 0.0
    viol = 0.0
    for s in range(ch.n_servers):
        hs = sx(ch, s)
        total += cost_[hs]
        viol += overload(P, s, busy_[hs])
    return total, viol


# ---- one move ---------------------------------------------------------------------------------

@register_jitable
def propose(P, S, ch, p_swap, p_hold):
    """Draw one move (a :data:`Move`): a swap with probability ``p_swap``, a hold move
    with ``p_hold`` (:func:`hold_proposal`), else a shift. Four uniforms per move, always,
    so streams stay aligned across backends (and with ``p_hold = 0`` every draw means what
    it meant before holds)."""
    rng_, x_ = S[RNG], S[X]
    r0 = ix(ch, 0, RNG_STRIDE)
    r1 = ix(ch, 1, RNG_STRIDE)
    u_kind = next_uniform(rng_, r0, r1)
    u_job = next_uniform(rng_, r0, r1)
    u_target = next_uniform(rng_, r0, r1)
    u_accept = next_uniform(rng_, r0, r1)
    j1 = draw_index(u_job, ch.n_jobs)
    a = x_[jx(ch, j1)]
    if u_kind < p_swap:
        j2 = draw_index(u_target, ch.n_jobs)
        b = x_[jx(ch, j2)]
        if b == a or not is_allowed(P, j2, a) or not is_allowed(P, j1, b):
            return Move(j1, -1, a, a, u_accept, 0.0)
        return Move(j1, j2, a, b, u_accept, 0.0)
    if ch.holds and u_kind < p_swap + p_hold:
        return hold_proposal(P, S, ch, j1, a, u_target, u_accept)
    b = allowed_server(P, P[JOB_CLASS][j1], u_target)
    return Move(j1, -1, a, b, u_accept, 0.0)


@register_jitable
def hold_proposal(P, S, ch, j, s, u, u_accept):
    """A hold move of job ``j`` on server ``s`` (docs/model.md, part 3), its new hold drawn
    by ``u`` among the values that can matter, each clipped to [0, hold_max]: 0; a start
    at the release of the next job on the server (none: the longest hold); a completion
    there (none: the same); and for each step of the server's price curve that starts
    inside the job's window [release, release + hold_max] (up to the last step of a
    curve that does not repeat), a start and a completion at that step's start. A null
    move when the job may not be held, its server has no schedule terms, or the value is
    its hold already."""
    if not holds_on(P, ch):
        return Move(j, -1, s, s, u_accept, 0.0)
    H = P[HOLD_MAX][j]
    if not (H > 0.0) or not P[WALKS][s]:
        return Move(j, -1, s, s, u_accept, 0.0)
    hold_ = S[HOLD]
    r = P[RELEASE][j]
    p = P[PROC][P[SERVER_CLASS][s], j]
    nx = S[NXT][jx(ch, j)]
    cid = P[CURVE_ID][s]
    k0 = 0.0
    n_steps = 0
    if cid >= 0:
        k0 = math.ceil(r * P[CURVE_INV_STEP][cid])
        k1 = math.floor((r + H) * P[CURVE_INV_STEP][cid])
        if P[CURVE_INV_PERIOD][cid] == 0.0 and k1 > P[CURVE_LEN][cid] - 1:
            k1 = P[CURVE_LEN][cid] - 1   # a series ends: its last value holds, no more steps
        if k1 >= k0:
            n_steps = int(k1 - k0) + 1
    i = draw_index(u, 3 + 2 * n_steps)
    v = 0.0
    if i == 1 or i == 2:
        v = H
        if nx >= 0:
            v = P[RELEASE][nx] + hold_[jx(ch, nx)] - r
            if i == 2:
                v -= p
    elif i >= 3:
        q = i - 3
        v = (k0 + (q // 2)) * P[CURVE_STEP][cid] - r
        if q % 2 == 1:
            v -= p
    if v < 0.0:
        v = 0.0
    if v > H:
        v = H
    if v == hold_[jx(ch, j)]:
        return Move(j, -1, s, s, u_accept, 0.0)
    return Move(j, HOLD_MOVE, s, s, u_accept, v)


@register_jitable
def additive_change(P, s, out, inn):
    """(change of additive cost, change of busy GPU-seconds) of server ``s`` losing job
    ``out`` and gaining job ``inn`` (either -1). O(1)."""
    g = P[SERVER_CLASS][s]
    d_cost = 0.0
    d_busy = 0.0
    if out >= 0:
        d_cost = -additive_cost(P, out, s)
        d_busy = -(P[JOB_GPUS][out] * P[PROC][g, out])
    if inn >= 0:
        d_cost = d_cost + additive_cost(P, inn, s)
        d_busy = d_busy + P[JOB_GPUS][inn] * P[PROC][g, inn]
    return d_cost, d_busy


@register_jitable
def server_full(P, S, ch, s, out, inn, lam, hj, hv):
    """Search cost of walking server ``s`` with job ``out`` removed and job ``inn``
    merged in (either may be -1; job ``hj`` held ``hv``), from a walk of its whole list
    that reads only the list links, the holds and the problem: the GPU's way (see
    :func:`walks_delta`). O(jobs on s)."""
    head_, nxt_, hold_ = S[HEAD], S[NXT], S[HOLD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    t, a_t, total, on = 0.0, 0.0, 0.0, -1.0
    cur = head_[sx(ch, s)]
    ins = inn
    while True:
        j, cur, ins = next_merged(nxt_, ch, cur, ins, out)
        if j < 0:
            break
        st, t, a_t, cost = job_step(P, g, cid, j, hold_of(P, hold_, ch, j, hj, hv), t, a_t,
                                    lam)
        if on < 0.0:
            on = st
        total += cost + additive_cost(P, j, s)
    if on >= 0.0 and P[IDLE_W][s] > 0.0:
        total += idle_cost(P, s, on, t)
    return total


@register_jitable
def server_delta(P, S, ch, s, out, inn, lam, limit):
    """Schedule-cost change of one-GPU server ``s`` losing job ``out`` and gaining job
    ``inn``: with caches (the CPU) the re-timed suffix from them (:func:`walk_delta`,
    which may stop at a lower bound above ``limit``); on the GPU every cached word a walk
    reads is an uncoalesced load from device memory, while the problem's arrays are shared
    by all chains and stay in cache: re-computing the whole server from its links
    (:func:`server_full`) measured faster there (H200, benchmarks/results/README.md), so
    the GPU keeps no completions or job costs."""
    if ch.caches:
        return walk_delta(P, S, ch, s, out, inn, lam, limit, -1, 0.0)
    return (server_full(P, S, ch, s, out, inn, lam, -1, 0.0)
            - S[SRV_COST][sx(ch, s)] - additive_change(P, s, out, inn)[0])


@register_jitable
def node_delta(P, S, ch, s, out, inn, lam, limit):
    """:func:`server_delta` of a multi-GPU node: :func:`node_walk` from the caches on the
    CPU (the leaving job's cached start, completion and cost), :func:`node_full` from the
    links on the GPU."""
    if ch.caches:
        o_st, o_c, o_cost = 0.0, 0.0, 0.0
        if out >= 0:
            k = jx(ch, out)
            o_st, o_c, o_cost = S[JSTART][k], S[COMP][k], S[JCOST][k]
        return node_walk(P, S, ch, s, out, o_st, o_c, o_cost, inn, lam, limit, False, -1, 0.0)
    return (node_full(P, S, ch, s, out, inn, lam, -1, 0.0)
            - S[SRV_COST][sx(ch, s)] - additive_change(P, s, out, inn)[0])


@register_jitable
def walks_delta(P, S, ch, j1, j2, a, b, lam, limit):
    """Schedule-cost changes (server a, server b) of a move on one-GPU servers
    (:func:`server_delta`); once server a's is known, server b's may stop at a lower
    bound above ``limit - d_a``. Moves that touch a multi-GPU node go to
    :func:`node_walks_delta`."""
    d_a = 0.0
    d_b = 0.0
    if P[WALKS][a]:
        d_a = server_delta(P, S, ch, a, j1, j2, lam, math.inf)
    if P[WALKS][b]:
        d_b = server_delta(P, S, ch, b, j2, j1, lam, limit - d_a)
    return d_a, d_b


@register_jitable
def node_walks_delta(P, S, ch, j1, j2, a, b, lam, limit):
    """:func:`walks_delta` of a move that touches a multi-GPU node (:func:`node_delta`; a
    one-GPU server of the move as there). Kept apart so that the one-GPU fleets' walks
    stay small enough to inline into the sweep: with the node walks in it,
    ``walks_delta`` became a call and one-GPU moves slower (benchmarks/README.md,
    "Results: multi-GPU nodes")."""
    d_a = 0.0
    d_b = 0.0
    if P[WALKS][a]:
        if P[SERVER_GPUS][a] > 1:
            d_a = node_delta(P, S, ch, a, j1, j2, lam, math.inf)
        else:
            d_a = server_delta(P, S, ch, a, j1, j2, lam, math.inf)
    if P[WALKS][b]:
        if P[SERVER_GPUS][b] > 1:
            d_b = node_delta(P, S, ch, b, j2, j1, lam, limit - d_a)
        else:
            d_b = server_delta(P, S, ch, b, j2, j1, lam,
                               limit - d_a)
    return d_a, d_b


@register_jitable
def move_delta(P, S, ch, mv, lam, cap_weight, limit):
    """What move ``mv`` would change (a :data:`Delta`): the search objective's change
    (cost + cap_weight * violation) and the two servers' new (cost, busy).

    ``limit``: a change above it needs no exact value (the move is rejected; see
    :func:`move_limit`), so a walk may stop at a lower bound above it, and then the
    servers' new costs are not meaningful. ``math.inf``: always exact."""
    if ch.holds and mv.j2 == HOLD_MOVE:
        return hold_delta(P, S, ch, mv, lam)
    j1, j2, a, b = mv.j1, mv.j2, mv.a, mv.b
    busy_, cost_ = S[SRV_BUSY], S[SRV_COST]
    ha = sx(ch, a)
    hb = sx(ch, b)
    dca, dba = additive_change(P, a, j1, j2)
    dcb, dbb = additive_change(P, b, j2, j1)
    busy_a = busy_[ha] + dba
    busy_b = busy_[hb] + dbb
    d_viol = (overload(P, a, busy_a) + overload(P, b, busy_b)
              - overload(P, a, busy_[ha]) - overload(P, b, busy_[hb]))
    # Numba passes each tuple member as its own argument, so a call that does not inline
    # is dear (kernels/cpu.py): the walks inline on one-GPU servers, and a move that
    # touches a node makes one call
    if P[WALKS][a] or P[WALKS][b]:
        if P[SERVER_GPUS][a] > 1 or P[SERVER_GPUS][b] > 1:
            wa, wb = node_walks_delta(P, S, ch, j1, j2, a, b,
                                      lam, limit - (dca + dcb + cap_weight * d_viol))
        else:
            wa, wb = walks_delta(P, S, ch, j1, j2, a, b, lam,
                                 limit - (dca + dcb + cap_weight * d_viol))
        dca += wa
        dcb += wb
    d_cost = dca + dcb
    return Delta(d_cost + cap_weight * d_viol, d_cost, d_viol, cost_[ha] + dca, busy_a,
                 cost_[hb] + dcb, busy_b)


@register_jitable
def hold_delta(P, S, ch, mv, lam):
    """:func:`move_delta` of a hold move: server ``mv.a``'s walk with job ``mv.j1`` taken
    out and put back held ``mv.h`` (the suffix from it on, from the caches; or the whole
    server from its links without caches). The assignment, busy time and violation stay."""
    j, s, h = mv.j1, mv.a, mv.h
    hs = sx(ch, s)
    if P[SERVER_GPUS][s] > 1:
        if ch.caches:
            k = jx(ch, j)
            d = node_walk(P, S, ch, s, j, S[JSTART][k], S[COMP][k], S[JCOST][k], j, lam,
                          math.inf, False, j, h)
        else:
            d = node_full(P, S, ch, s, j, j, lam, j, h) - S[SRV_COST][hs]
    elif ch.caches:
        d = walk_delta(P, S, ch, s, j, j, lam, math.inf, j, h)
    else:
        d = server_full(P, S, ch, s, j, j, lam, j, h) - S[SRV_COST][hs]
    cost = S[SRV_COST][hs] + d
    busy = S[SRV_BUSY][hs]
    return Delta(d, d, 0.0, cost, busy, cost, busy)


@register_jitable
def hold_apply(P, S, ch, mv, lam):
    """Make hold move ``mv``: store the hold and re-time the server's suffix (caches)."""
    hold_ = S[HOLD]
    j, s = mv.j1, mv.a
    k = jx(ch, j)
    if ch.caches and P[SERVER_GPUS][s] > 1:
        o_st, o_c, o_cost = S[JSTART][k], S[COMP][k], S[JCOST][k]
        hold_[k] = mv.h
        node_walk(P, S, ch, s, j, o_st, o_c, o_cost, j, lam, math.inf, True, -1, 0.0)
    elif ch.caches:
        hold_[k] = mv.h
        retime(P, S, ch, s, S[PRV][k], j, lam)
    else:
        hold_[k] = mv.h


@register_jitable
def node_retime(P, S, ch, j1, j2, a, b, lam, node_a, node_b):
    """Store the new timelines of the move's multi-GPU nodes (CPU caches), walked on the
    lists before the move, reading the leaving jobs' old start, completion and cost as
    they were before either walk writes. (Its own function: see :func:`node_walks_delta`.)"""
    k1 = jx(ch, j1)
    s1, c1, e1 = S[JSTART][k1], S[COMP][k1], S[JCOST][k1]
    s2, c2, e2 = 0.0, 0.0, 0.0
    if j2 >= 0:
        k2 = jx(ch, j2)
        s2, c2, e2 = S[JSTART][k2], S[COMP][k2], S[JCOST][k2]
    if node_a:
        node_walk(P, S, ch, a, j1, s1, c1, e1, j2, lam, math.inf, True, -1, 0.0)
    if node_b:
        node_walk(P, S, ch, b, j2, s2, c2, e2, j1, lam, math.inf, True, -1, 0.0)


@register_jitable
def relink(P, S, ch, j1, j2, a, b, lam):
    """Move the jobs between the walking servers' lists and re-time the changed suffixes."""
    prv_ = S[PRV]
    walk_a = P[WALKS][a] != 0
    walk_b = P[WALKS][b] != 0
    node_a = walk_a and P[SERVER_GPUS][a] > 1
    node_b = walk_b and P[SERVER_GPUS][b] > 1
    if ch.caches and (node_a or node_b):
        node_retime(P, S, ch, j1, j2, a, b, lam, node_a, node_b)
    # unlink both jobs before linking either: j2 still sits in b's list until then
    pa = -2
    pb = -2
    if walk_a:
        if j2 < 0 or j1 < j2:
            pa = prv_[jx(ch, j1)]  # the first change on a is j1's place
        list_unlink(S, ch, a, j1)
    if walk_b and j2 >= 0:
        if j2 < j1:
            pb = prv_[jx(ch, j2)]
        list_unlink(S, ch, b, j2)
    if walk_a:
        if j2 >= 0:
            q = find_pred(S, ch, a, j2)
            list_link_after(S, ch, a, q, j2)
            if pa == -2:
                pa = q
        if ch.caches and not node_a:   # without caches nothing to re-time (walks_delta)
            retime(P, S, ch, a, pa, max(j1, j2), lam)
    if walk_b:
        q = find_pred(S, ch, b, j1)
        list_link_after(S, ch, b, q, j1)
        if pb == -2:
            pb = q
        if ch.caches and not node_b:
            retime(P, S, ch, b, pb, max(j1, j2), lam)


@register_jitable
def move_apply(P, S, ch, mv, dl, lam):
    """Make move ``mv`` (:data:`Move`) whose :data:`Delta` is ``dl``: store the assignment
    and the two servers' new cost and busy time; relink and re-time when a server walks."""
    x_, cost_, busy_ = S[X], S[SRV_COST], S[SRV_BUSY]
    if ch.holds and mv.j2 == HOLD_MOVE:
        hold_apply(P, S, ch, mv, lam)
        cost_[sx(ch, mv.a)] = dl.cost_a
        return
    j1, j2, a, b = mv.j1, mv.j2, mv.a, mv.b
    x_[jx(ch, j1)] = b
    if j2 >= 0:
        x_[jx(ch, j2)] = a
    if P[WALKS][a] or P[WALKS][b]:
        relink(P, S, ch, j1, j2, a, b, lam)
    cost_[sx(ch, a)] = dl.cost_a
    busy_[sx(ch, a)] = dl.busy_a
    cost_[sx(ch, b)] = dl.cost_b
    busy_[sx(ch, b)] = dl.busy_b


@register_jitable
def move_limit(beta, u):
    """The change above which :func:`metropolis` rejects a move at inverse temperature
    ``beta`` with draw ``u`` without its exp: ``METROPOLIS_CUT / beta`` (``inf`` when the
    draw is 0, which takes the exp, or ``beta <= 0``). A change that exceeds it gives
    ``beta * delta`` above ~36.7, where ``exp(-beta * delta) < 2**-53 <= u``: the
    decision does not depend on how far above it lies."""
    if u >= UNIFORM_ULP and beta > 0.0:
        return METROPOLIS_CUT / beta
    return math.inf


@register_jitable
def metropolis(delta, beta, u):
    """Accept downhill always, uphill with probability exp(-beta * delta)."""
    if delta <= 0.0:
        return True
    x = beta * delta
    if x > METROPOLIS_CUT and u >= UNIFORM_ULP:
        # exp(-x) < 2**-53 <= u: the same answer without the exp (most uphill moves
        # of a cold chain)
        return False
    return u < math.exp(-x)


@register_jitable
def within_capacity(P, S, ch):
    """Whether every server's busy time exceeds its capacity by at most
    :data:`CAPACITY_RTOL` of it (docs/model.md, "Capacity and feasibility"). O(S), asked
    only of a state with a violation.

    The busy times here are running sums, which adding and removing jobs leaves a few ulps
    of the largest sum off: a server emptied of its jobs can hold 5.7e-14 s, over a
    capacity of 0 (differential sweep, 2026-12-04). A server over by at most
    :data:`DRIFT_RTOL` of the largest busy time is summed again from the assignment, in
    dispatch order as the evaluator sums it: O(N), only at such near-ties."""
    busy_ = S[SRV_BUSY]
    top = -1.0   # the largest busy time, found at the first server over its capacity
    for s in range(ch.n_servers):
        cap = P[CAPACITY][s]
        over = busy_[sx(ch, s)] - cap
        if over > CAPACITY_RTOL * cap:
            if top < 0.0:
                top = 0.0
                for q in range(ch.n_servers):
                    top = max(top, abs(busy_[sx(ch, q)]))
            if over > DRIFT_RTOL * top or exact_busy(P, S, ch, s) - cap > CAPACITY_RTOL * cap:
                return False
    return True


#: the running busy sums' drift that :func:`within_capacity` checks against an exact sum
#: (as a fraction of the largest busy time: ~1e-16 a move, reset by each rebuild)
DRIFT_RTOL = 1e-9


@register_jitable
def exact_busy(P, S, ch, s):
    """Busy GPU-seconds of server ``s`` summed over its jobs in dispatch order. O(N)."""
    x_ = S[X]
    g = P[SERVER_CLASS][s]
    total = 0.0
    for j in range(ch.n_jobs):
        if x_[jx(ch, j)] == s:
            total += P[JOB_GPUS][j] * P[PROC][g, j]
    return total


@register_jitable
def keep_best(P, S, ch, cost, viol, cap_weight):
    """Update the chain's best from its state at a sweep boundary; return the best so far.

    Feasible: every server within its capacity up to :data:`CAPACITY_RTOL` of it (busy
    times are running sums here and sums in dispatch order in the evaluator, which differ
    in their last bits: :func:`within_capacity`)."""
    f_, bx_, x_ = S[CHAIN_F], S[BEST_X], S[X]
    kf = ix(ch, F_BEST_FEASIBLE, NF)
    ka = ix(ch, F_BEST_ANY, NF)
    copy = False
    if viol == 0.0 or within_capacity(P, S, ch):
        if cost < f_[kf]:
            f_[kf] = cost
            copy = True
    elif f_[kf] == math.inf and cost + cap_weight * viol < f_[ka]:
        f_[ka] = cost + cap_weight * viol
        copy = True
    if copy:
        for j in range(ch.n_jobs):
            bx_[jx(ch, j)] = x_[jx(ch, j)]
        if holds_on(P, ch):
            hold_, bh_ = S[HOLD], S[BEST_HOLD]
            for j in range(ch.n_jobs):
                bh_[jx(ch, j)] = hold_[jx(ch, j)]
    if f_[kf] < math.inf:
        return f_[kf]
    return f_[ka]


@register_jitable
def run_sweeps(P, S, ch, betas, sweep0, n_sweeps, n_moves, p_swap,
               cap_weight, trace):
    """Run ``n_sweeps`` sweeps (``n_moves`` attempted moves each: ``n_jobs``, or fewer
    when a time budget needs short blocks on a huge problem) of chain ``c``: global
    sweeps ``sweep0 ..``, sweep ``sweep0 + i`` at inverse temperature ``betas[i]`` (the
    driver hands over each block's temperatures, so a time budget can fit them).

    After each sweep the running totals are re-summed from the server costs and the
    chain's best is updated from the state at the sweep boundary (copying x there keeps a
    move O(what it changes)); every :data:`RESYNC_SWEEPS` global sweeps the caches are
    rebuilt exactly. ``trace[i]`` (at ``ix(c, i, n_sweeps, ...)``) receives the chain's
    best after sweep i.
    """
    f_ = S[CHAIN_F]
    lam = f_[ix(ch, F_LAM, NF)]
    cost = f_[ix(ch, F_COST, NF)]
    viol = f_[ix(ch, F_VIOL, NF)]
    accepted = f_[ix(ch, F_ACCEPTED, NF)]
    t_scale = f_[ix(ch, F_TSCALE, NF)]
    p_hold = f_[ix(ch, F_PHOLD, NF)]
    for sw in range(n_sweeps):
        beta = betas[sw] / t_scale
        for _ in range(n_moves):
            mv = propose(P, S, ch, p_swap, p_hold)
            if mv.a == mv.b and not (ch.holds and mv.j2 == HOLD_MOVE):
                continue
            dl = move_delta(P, S, ch, mv, lam, cap_weight,
                            move_limit(beta, mv.u))
            if metropolis(dl.delta, beta, mv.u):
                move_apply(P, S, ch, mv, dl, lam)
                accepted += 1.0
        if (sweep0 + sw + 1) % RESYNC_SWEEPS == 0:
            chain_resync(P, S, ch, False)
        cost, viol = chain_totals(P, S, ch)
        trace[ix(ch, sw, n_sweeps)] = keep_best(P, S, ch, cost, viol,
                                                      cap_weight)
    f_[ix(ch, F_COST, NF)] = cost
    f_[ix(ch, F_VIOL, NF)] = viol
    f_[ix(ch, F_ACCEPTED, NF)] = accepted


# ---- the CPU's sweep -----------------------------------------------------------------------
# The one-GPU move path must inline into the sweep (a call costs ~100 ns with P and S:
# kernels/cpu.py), and LLVM's inline costs of move_delta and move_apply sat within a few
# percent of the threshold (move_delta 9,325 of 10,000 before holds, 10,305 with them:
# benchmarks/README.md, "Results: holds"). So the CPU drivers run ``run_sweeps_cpu``: the
# same code as :func:`run_sweeps`, calling copies of the two that Numba inlines in its own
# IR, whatever LLVM would decide. The GPU's compiler inlines device functions on its own
# (and numba-cuda cannot type the IR inlining), so :mod:`.cuda` runs :func:`run_sweeps`.

def _same_code(fn, globals_, inline):
    """A new function with ``fn``'s code and defaults over ``globals_``, registered for
    jitting (inlined in Numba's IR where ``inline`` is "always")."""
    copy = types.FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    return register_jitable(inline=inline)(copy)


_CPU_GLOBALS = dict(globals())
_CPU_GLOBALS["move_delta"] = _same_code(move_delta, globals(), "always")
_CPU_GLOBALS["move_apply"] = _same_code(move_apply, globals(), "always")
#: :func:`run_sweeps` with the move's delta and application inlined, itself inlined in
#: Numba's IR into the single-problem CPU sweep and the batch's per-pair functions
#: (kernels/batch.py): the chain view's flags are constants there, so a problem without
#: holds runs no hold code (LLVM does not propagate them into a function it leaves as a
#: call)
run_sweeps_cpu = _same_code(run_sweeps, _CPU_GLOBALS, "always")
