"""percentile: the nearest-rank percentile the checks, the monthly report and the benchmark quote."""
from __future__ import annotations


def percentile(values: list[float], fraction: float) -> float | None:
    """The value at `fraction` (0.95: p95) of the sorted values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
