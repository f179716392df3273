"""The monthly report's plots: a PNG per plot, and beside it a CSV of the very series drawn
(series, x, y), so the figures behind a plot can be read, compared or plotted elsewhere."""
from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

Series = dict[str, tuple[list, list]]  # label -> (xs, ys); a histogram's xs are empty


def plot(path: Path, title: str, ylabel: str, series: Series, kind: str = "line") -> str:
    """Draw `series` into `path` (PNG) and write `path` with .csv; returns the PNG's file name."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    figure, axes = pyplot.subplots(figsize=(8, 3.2))
    for label, (xs, ys) in series.items():
        if kind == "bar":
            axes.bar([str(x) for x in xs], ys, label=label)
        elif kind == "hist":
            axes.hist(ys, bins=30, label=label)
        else:
            axes.plot(xs, ys, marker=".", label=label)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if len(series) > 1:
        axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    write_series(path.with_suffix(".csv"), series)
    return path.name


def write_series(path: Path, series: Series) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(("series", "x", "y"))
        for label, (xs, ys) in series.items():
            for x, y in zip(xs or [""] * len(ys), ys):
                out.writerow((label, _text(x), _text(y)))


def read_series(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A plot's CSV as {series: [(x, y), ...]}, the text as written."""
    found: dict[str, list[tuple[str, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["series"], []).append((row["x"], row["y"]))
    return found


def _text(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)
