"""Which matrix cells to ask OneMap for when a call budget cannot cover all n(n-1) of them.

The old system asked OneMap for every ordered pair, one call at a time, and therefore refused files over 80
stops. Here OneMap answers the cells that decide the plan and the travel-time model fills the rest:

1. **Depot legs** (depot -> stop and stop -> depot) come first. Every route uses two, they are the longest
   legs (so the model's ~12 % relative error costs the most minutes there), and they decide whether a stop
   fits in a shift at all.
2. **Near-neighbour legs**, round-robin by neighbour rank: every stop's nearest neighbour (both directions)
   before anyone's second nearest, up to ``neighbours`` ranks. Good VRP solutions are built almost entirely
   from arcs between near neighbours (the reason granular neighbourhoods, Toth & Vigo 2003, and the
   candidate lists of local search work), so these are the cells the solver actually uses; round-robin
   keeps a small budget spread over all stops instead of spent on the first ones.
3. **Everything else**, shortest first: short legs are the next most likely to be driven; long cross-island
   legs are rarely in a plan and the model's estimate is good enough to rule them out.

The order depends on geometry only, never on what is cached, so a re-run asks for the same pairs and, with
them cached, makes no call. Pairs at the same rounded point cost nothing and are never selected.
"""

from __future__ import annotations

import numpy as np

from .matrix import haversine_matrix

DEFAULT_NEIGHBOURS = 6
TIER_DEPOT, TIER_NEIGHBOUR, TIER_REST = 0, 1, 2


def rounded_e5(values: np.ndarray) -> np.ndarray:
    """Coordinates as integers of 1e-5 degree (about 1 m): the OD cache's key."""
    return np.rint(np.asarray(values, dtype=float) * 1e5).astype(np.int64)


def same_point_mask(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """n x n: True where two nodes share a rounded point (the diagonal included); such legs are zero."""
    la, lo = rounded_e5(lats), rounded_e5(lons)
    return (la[:, None] == la[None, :]) & (lo[:, None] == lo[None, :])


def neighbour_ranks(h: np.ndarray) -> np.ndarray:
    """rank[i, j] = 1 if j is i's nearest other node, 2 if second nearest...; 0 on the diagonal."""
    n = h.shape[0]
    masked = h.copy()
    np.fill_diagonal(masked, np.inf)
    order = np.argsort(masked, axis=1, kind="stable")
    ranks = np.empty((n, n), dtype=np.int64)
    rows = np.arange(n)[:, None]
    ranks[rows, order] = np.arange(1, n + 1)[None, :]
    np.fill_diagonal(ranks, 0)
    return ranks


def priority_pairs(
    lats: np.ndarray, lons: np.ndarray, budget: int, neighbours: int = DEFAULT_NEIGHBOURS, depot: int = 0
) -> np.ndarray:
    """Up to ``budget`` ordered (origin, destination) index pairs, most valuable first (see module docstring).

    Returns an int array of shape (m, 2). With a budget covering every distinct pair, all are returned.
    """
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    n = lats.size
    if n < 2 or budget <= 0:
        return np.empty((0, 2), dtype=np.int64)
    h = haversine_matrix(lats, lons, lats, lons)
    free = same_point_mask(lats, lons)
    ranks = neighbour_ranks(h)
    sym_rank = np.minimum(ranks, ranks.T)  # i->j and j->i share a priority: both directions are driven

    tier = np.full((n, n), TIER_REST, dtype=np.int64)
    tier[(sym_rank >= 1) & (sym_rank <= neighbours)] = TIER_NEIGHBOUR
    if 0 <= depot < n:
        tier[depot, :] = TIER_DEPOT
        tier[:, depot] = TIER_DEPOT
    secondary = np.where(tier == TIER_NEIGHBOUR, sym_rank, 0)

    origin, dest = np.nonzero(~free)
    if origin.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    # lexsort: last key is primary. Ties fall back to distance, then the unordered pair, then direction.
    lo_idx, hi_idx = np.minimum(origin, dest), np.maximum(origin, dest)
    order = np.lexsort(
        (
            origin,
            hi_idx,
            lo_idx,
            h[origin, dest],
            secondary[origin, dest],
            tier[origin, dest],
        )
    )
    chosen = order[: min(int(budget), order.size)]
    return np.stack([origin[chosen], dest[chosen]], axis=1).astype(np.int64)


def all_distinct_pairs(lats: np.ndarray, lons: np.ndarray) -> int:
    """How many ordered pairs need a travel time (same-point pairs excluded): the cost of a full matrix."""
    free = same_point_mask(lats, lons)
    return int((~free).sum())
