"""cryptostream-exchange-sim-health: the simulated exchange's container health check, a GET of its
ping route (the image has no curl). Exit 0 when it answers 200, 1 otherwise, with one line."""
from __future__ import annotations

import sys
# a fixed http://127.0.0.1 URL of our own simulator: no other scheme can reach urlopen
from urllib.error import URLError
from urllib.request import urlopen  # nosec B310

from cryptostream.pipeline.binance import endpoints

TIMEOUT = 5.0


def ping(port: int, timeout: float = TIMEOUT) -> tuple[bool, str]:
    """(answered 200, what happened) for the simulator's ping route on 127.0.0.1:port."""
    url = f"http://127.0.0.1:{port}{endpoints.PING_PATH}"
    try:
        with urlopen(url, timeout=timeout) as answer:  # nosec B310 - see the import
            return answer.status == 200, f"{url} answered {answer.status}"
    except URLError as exc:  # HTTPError (a non-2xx answer) is one too
        return False, f"{url}: {getattr(exc, 'code', None) or exc.reason}"
    except OSError as exc:  # a timeout or a reset after connecting
        return False, f"{url}: {exc}"


def main() -> int:
    from cryptostream.core import config as config_module
    healthy, what = ping(config_module.load().simulator.port)
    print(f"{'healthy' if healthy else 'unhealthy'}: {what}", file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1
