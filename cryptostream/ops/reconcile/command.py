"""bin/reconcile's command line: --since/--until as a time or how long ago, the account as text or JSON."""
from __future__ import annotations

import argparse
import json
import re
import time
from datetime import datetime, timezone

from cryptostream.core import config as config_module
from cryptostream.ops import cli
from cryptostream.ops.deployment import add_flags
from cryptostream.ops.reconcile.account import reconcile

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_AGO_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def time_ms(text: str, now: float | None = None) -> int:
    """--since/--until: an ISO-8601 time (a naive one is UTC) or how long ago (90s, 30m, 2h, 1d),
    as epoch milliseconds; argparse turns the ArgumentTypeError into a one-line usage error."""
    ago = _AGO.match(text)
    if ago:
        seconds = float(ago.group(1)) * _AGO_SECONDS[ago.group(2)]
        return int(((time.time() if now is None else now) - seconds) * 1000)
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO-8601 time such as 2026-12-01T10:00:00Z (without a zone: UTC) or a time ago "
            f"such as 90s, 30m, 2h, 1d; got {text!r}") from None
    return int((stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reconcile", description="Account for every Kafka message in MySQL.")
    parser.add_argument("--since", type=time_ms, metavar="TIME",
                        help="only windows starting at or after TIME: ISO-8601 (naive = UTC) or ago (2h, 30m, 90s, 1d)")
    parser.add_argument("--until", type=time_ms, metavar="TIME", help="only windows starting before TIME (same forms)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = add_flags(parser).parse_args(argv)  # accepted for uniformity: Kafka and MySQL answer alike on both
    if args.since is not None and args.until is not None and args.since >= args.until:
        parser.error(f"--since ({_iso(args.since)}) must be before --until ({_iso(args.until)})")
    account = reconcile(config_module.load(), args.since, args.until)
    if args.json:
        print(json.dumps({"exact": account.exact, "messages": account.messages, "windows": account.windows,
                          "quarantined": account.quarantined,
                          "since": _iso(account.since_ms), "problems": account.problems}, indent=2))
    else:
        since = f" (windows from {_iso(account.since_ms)})" if account.since_ms is not None else ""
        quarantined = f", {account.quarantined} quarantined" if account.quarantined else ""
        print(f"{account.messages} messages, {account.windows} windows{since}{quarantined}: "
              f"{'exact' if account.exact else f'{len(account.problems)} problems'}")
        for line in account.problems[:50]:
            print(f"  {line}")
    return 0 if account.exact else 2
