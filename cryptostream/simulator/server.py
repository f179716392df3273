"""A local Binance-compatible exchange for `bin/up --simulated` and the tests (127.0.0.1 only):
its REST routes (routes.py) on one port, optionally the same exchange under a second base URL
(the mirror, as api1.binance.com is for api.binance.com, to test the fallback after a 451) and
its WebSocket trade stream (stream.py) from a seeded tape (trade_tape.py).
"""
from __future__ import annotations

import argparse
import json
import threading
from http.server import ThreadingHTTPServer

from cryptostream.core import events
from cryptostream.core.logs import configure
from cryptostream.simulator.prices import PricePath, start_prices
from cryptostream.simulator.routes import Handler
from cryptostream.simulator.state import ExchangeState
from cryptostream.simulator.stream import StreamServer
from cryptostream.simulator.trade_tape import TradeTape


def make_server(port: int = 0, seed: int = 42, script: dict[str, list[str]] | None = None,
                host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A ready server (port 0 = any free port); call serve_forever(), or start_in_thread()."""
    path = PricePath(seed, script)
    handler = type("SimHandler", (Handler,), {"state": ExchangeState(path, TradeTape(seed, start_prices(path)))})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def mirror(server: ThreadingHTTPServer, port: int = 0) -> ThreadingHTTPServer:
    """A second server for the same exchange (shared prices, weight, faults, request log)."""
    other = ThreadingHTTPServer((server.server_address[0], port), server.RequestHandlerClass)
    other.daemon_threads = True
    return other


def stream(server: ThreadingHTTPServer, port: int = 0, ping_interval: float = 20.0) -> StreamServer:
    """The WebSocket trade stream of the same exchange (its tape, faults and log); started, with the tape."""
    state = server.RequestHandlerClass.state
    ws = StreamServer(state.tape, state.stream, port, ping_interval, host=server.server_address[0],
                      listed=lambda: state.statuses)
    ws.start_in_thread()
    return ws


SHUTDOWN_POLL = 0.02  # serve_forever's poll: shutdown() waits up to this long (the library's 0.5 s per stop)


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), name="exchange-sim", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    from cryptostream.core import config as config_module
    config = config_module.load()
    parser = argparse.ArgumentParser(description="Run the simulated Binance exchange on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=config.simulator.port)
    parser.add_argument("--mirror-port", type=int, default=config.simulator.mirror_port,
                        help="a second port serving the same exchange (0: none)")
    parser.add_argument("--ws-port", type=int, default=config.simulator.ws_port,
                        help="the WebSocket trade stream's port (0: none)")
    parser.add_argument("--ping-interval", type=float, default=20.0,
                        help="seconds between the stream's pings (Binance: 20)")
    parser.add_argument("--seed", type=int, default=config.simulator.seed)
    parser.add_argument("--script", help="JSON file {symbol: [prices...]} served in a loop")
    args = parser.parse_args(argv)
    log = configure("exchange-sim")
    script = json.loads(open(args.script).read()) if args.script else None
    server = make_server(args.port, args.seed, script)
    if args.mirror_port:
        start_in_thread(mirror(server, args.mirror_port))
    if args.ws_port:
        try:
            stream(server, args.ws_port, args.ping_interval)
        except OSError as exc:  # the REST exchange still serves; only the trade stream is missing
            log.error(events.WS_PORT_UNAVAILABLE, port=args.ws_port, error=str(exc))
            args.ws_port = 0
    log.info(events.LISTENING, url=f"http://127.0.0.1:{server.server_address[1]}", seed=args.seed,
             mirror_url=f"http://127.0.0.1:{args.mirror_port}" if args.mirror_port else None,
             ws_url=f"ws://127.0.0.1:{args.ws_port}" if args.ws_port else None)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
