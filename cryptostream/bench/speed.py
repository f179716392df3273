"""How fast this machine is right now, in one figure: a plain Python loop of 20 million
additions (about 1.3 s on the 2-core CI machine on a good day). Printed beside `bin/test`'s wall
time and kept in every `bin/bench` report, so a figure that moved between two runs can be told
apart from a machine that did."""
from __future__ import annotations

import time

# run at module level, as `python -c` runs it: its variables are a dict's, not a function's
# locals (twice as fast), so the figure stays comparable with those recorded before
LOOP = "s = 0\nfor i in range(20_000_000):\n    s += i\n"


def loop_seconds() -> float:
    code = compile(LOOP, "<loop>", "exec")
    started = time.perf_counter()
    exec(code, {})  # nosec B102: our own constant source
    return round(time.perf_counter() - started, 2)


if __name__ == "__main__":
    print(f"{loop_seconds():.1f}")
