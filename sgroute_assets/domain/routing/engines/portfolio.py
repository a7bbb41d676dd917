"""How the PyVRP engine is run: a required-stop search beside an optional-visit one, on every core at once.

Why two kinds of search: PyVRP's search is tuned for required clients and finds markedly better plans that way
(10 s on Solomon RC206: 1051.1 against 1064.3 with every stop an optional, prize-carrying client; RC208 776.1
against 782.8). But a required-stop search has no plan at all when some stop cannot be served, and planners
must still get a plan with that stop dropped and its reason. So the engine runs both and keeps the cheapest
feasible plan (a dropped stop costs its drop penalty, far above any detour, so a plan serving everything wins
whenever one was found).

Why several processes: each search is one thread holding the GIL, and which seed finds the better plan in a
given time is luck. A planning machine has spare cores while a plan is made, so the searches run side by side
in worker processes for the same wall time: search 0 (required stops, in this process, with the progress
monitor), search 1 (optional visits), then alternating with further seeds, one per core up to four. Each
stops at the time limit, when its own search stalls, or (a required-stop search) when it has found no feasible
plan within a share of the limit. A worker that fails or does not answer is recorded in the result and
ignored; the plan then comes from the searches that did answer.

With one core, or on problems small or short enough that a worker's start-up (about half a second) does not
pay, the two searches run one after the other: required first, then, only if it found no plan, optional
visits for the remaining time. An optional-visit search always has a plan (in the worst case every stop
dropped with its reason), so the engine never returns "no plan" when a plan with drops exists.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from ..instance import VrptwInstance
from .pyvrp_engine import InitialRoutes, solve_pyvrp
from .search import SearchMonitor, SolverResult, SolverSettings, stall_window_s

MAX_AUTO_WORKERS = 4
MIN_PORTFOLIO_STOPS = 50  # below this one search reaches the optimum long before any limit
MIN_PORTFOLIO_LIMIT_S = 2.0  # below this a worker's start-up eats too much of its search
GIVE_UP_SHARE = 0.25  # a required-stop search without a feasible plan after this share of the limit stops
MIN_FALLBACK_S = 1.0  # the optional-visit search after a failed required one gets at least this long
WORKER_GRACE_S = 15.0  # how long past the limit a worker may take to hand its plan back (pickling, exit)
REQUIRED, OPTIONAL = "required", "optional"

_context: multiprocessing.context.BaseContext | None = None


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def portfolio_size(settings: SolverSettings, stops: int) -> int:
    """How many searches to run side by side for this problem (1: one after the other in this process)."""
    if settings.workers == 1 or stops < MIN_PORTFOLIO_STOPS or settings.time_limit_s < MIN_PORTFOLIO_LIMIT_S:
        return 1
    if settings.workers > 1:
        return settings.workers
    return max(1, min(available_cores(), MAX_AUTO_WORKERS))


def required_may_work(inst: VrptwInstance, nodes: list[int]) -> bool:
    """False when serving every stop is plainly impossible (more demand than the whole fleet carries)."""
    capacity = sum(t.count * t.capacity for t in inst.vehicle_types)
    return sum(int(inst.demand[n]) for n in nodes) <= capacity


def _monitor_for(mode: str, settings: SolverSettings, stops: int, monitor: SearchMonitor) -> SearchMonitor:
    if mode == REQUIRED:
        monitor.give_up_infeasible_s = min(
            GIVE_UP_SHARE * settings.time_limit_s, stall_window_s(settings.time_limit_s, stops)
        )
    return monitor


def _search(
    inst: VrptwInstance,
    settings: SolverSettings,
    nodes: list[int],
    mode: str,
    deadline: float,
    initial: InitialRoutes | None = None,
) -> SolverResult:
    """One worker's search, bounded by the parent's deadline (CLOCK_MONOTONIC is shared across processes)."""
    remaining = max(0.1, deadline - time.perf_counter())
    worker_settings = replace(settings, time_limit_s=remaining)
    monitor = _monitor_for(mode, worker_settings, len(nodes), SearchMonitor("pyvrp", worker_settings, len(nodes)))
    return solve_pyvrp(inst, settings, nodes, monitor, required=mode == REQUIRED, initial=initial)


def _worker_context() -> multiprocessing.context.BaseContext:
    """A forkserver context with PyVRP preloaded: workers fork from a clean server, never from this process
    (which may hold Dagster's threads and locks, unsafe to fork), and skip re-importing PyVRP each time."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        _context = ctx
    return _context


def _entry(seed: int, mode: str, result: SolverResult | None, why: str) -> tuple[int, str, int | None, str]:
    feasible = result is not None and result.status == "feasible"
    return (seed, mode, result.objective if feasible else None, why)


def _best(runs: list[tuple[int, str, SolverResult | None, str]], fallback: SolverResult) -> SolverResult:
    feasible = [(seed, r) for seed, _, r, _ in runs if r is not None and r.status == "feasible"]
    chosen = min(feasible, key=lambda sr: (sr[1].objective, sr[0]))[1] if feasible else fallback
    chosen.portfolio = [_entry(seed, mode, r, why) for seed, mode, r, why in runs]
    return chosen


def _one_after_the_other(
    inst: VrptwInstance,
    settings: SolverSettings,
    nodes: list[int],
    monitor: SearchMonitor,
    initial: InitialRoutes | None = None,
) -> SolverResult:
    if not required_may_work(inst, nodes):
        result = solve_pyvrp(inst, settings, nodes, monitor, initial=initial)
        return _best([(settings.seed, OPTIONAL, result, result.stop_reason)], result)
    first = solve_pyvrp(
        inst, settings, nodes, _monitor_for(REQUIRED, settings, len(nodes), monitor), required=True, initial=initial
    )
    runs = [(settings.seed, REQUIRED, first, first.stop_reason)]
    if first.status == "feasible":
        return _best(runs, first)
    remaining = max(MIN_FALLBACK_S, monitor.deadline - time.perf_counter())
    rest = replace(settings, time_limit_s=remaining)
    second = solve_pyvrp(
        inst, settings, nodes, SearchMonitor("pyvrp", rest, len(nodes), monitor.progress), initial=initial
    )
    runs.append((settings.seed, OPTIONAL, second, second.stop_reason))
    chosen = _best(runs, second)
    chosen.solve_time_s = monitor.elapsed()
    return chosen


def solve_pyvrp_portfolio(
    inst: VrptwInstance,
    settings: SolverSettings,
    nodes: list[int],
    monitor: SearchMonitor,
    workers: int,
    initial: InitialRoutes | None = None,
) -> SolverResult:
    """The engine's plan: see the module docstring for which searches run where; every search starts from
    ``initial`` when given (a plan being repaired)."""
    if workers <= 1:
        return _one_after_the_other(inst, settings, nodes, monitor, initial)
    required_ok = required_may_work(inst, nodes)
    modes = [REQUIRED if required_ok and k % 2 == 0 else OPTIONAL for k in range(workers)]
    pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=_worker_context())
    try:
        futures: list[tuple[int, str, Future]] = [
            (
                settings.seed + k,
                modes[k],
                pool.submit(
                    _search,
                    inst,
                    replace(settings, seed=settings.seed + k),
                    nodes,
                    modes[k],
                    monitor.deadline,
                    initial,
                ),
            )
            for k in range(1, workers)
        ]
        own_monitor = _monitor_for(modes[0], settings, len(nodes), monitor)
        own = solve_pyvrp(inst, settings, nodes, own_monitor, required=modes[0] == REQUIRED, initial=initial)
        runs: list[tuple[int, str, SolverResult | None, str]] = [(settings.seed, modes[0], own, own.stop_reason)]
        for seed, mode, future in futures:
            wait = max(0.0, monitor.deadline - time.perf_counter()) + WORKER_GRACE_S
            try:
                found = future.result(timeout=wait)
                runs.append((seed, mode, found, found.stop_reason))
            except FutureTimeout:
                runs.append((seed, mode, None, "worker_timeout"))
            except Exception as exc:  # a worker that died (out of memory, killed) must not cost the plan
                runs.append((seed, mode, None, f"worker_failed: {type(exc).__name__}"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not any(r is not None and r.status == "feasible" for _, _, r, _ in runs) and modes[0] == REQUIRED:
        # The optional-visit workers failed and this process's required search found nothing: plan with drops.
        rest = replace(settings, time_limit_s=MIN_FALLBACK_S)
        own = solve_pyvrp(inst, settings, nodes, SearchMonitor("pyvrp", rest, len(nodes), monitor.progress))
        runs.append((settings.seed, OPTIONAL, own, own.stop_reason))
    chosen = _best(runs, own)
    chosen.solve_time_s = monitor.elapsed()
    return chosen
