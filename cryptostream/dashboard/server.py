"""cryptostream-dashboard: the page (static/), its data (/api/candles, /api/health) and plotly's
JavaScript from the installed plotly package, on 127.0.0.1:<dashboard.port> only.

Read-only by construction: GET routes only, MySQL as the SELECT-only account, nothing fetched
from or sent to anywhere but this machine. The Host header must name the loopback address, so
a web page elsewhere cannot reach it through DNS rebinding."""
from __future__ import annotations

import argparse
from pathlib import Path

import plotly
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cryptostream.core import db, events
from cryptostream.core.config import Config, ConfigError, load
from cryptostream.core.logs import configure
from cryptostream.dashboard import candles
from cryptostream.dashboard.health import Health

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# scripts and styles from this server only; plotly sets inline styles on its SVG
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "connect-src 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", POLICY.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer")]
log = structlog.get_logger("dashboard")


def make_app(config: Config) -> Starlette:
    health = Health(config)

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def plotly_js(_request: Request) -> Response:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    def window_rows(request: Request) -> Response:
        range_name = request.query_params.get("range", "1h")
        if range_name not in candles.RANGES:
            return JSONResponse({"error": f"range must be one of {', '.join(candles.RANGES)}"}, status_code=400)
        since = request.query_params.get("since")
        try:
            rows = candles.windows(config, range_name, candles.parse_time(since) if since else None)
        except ValueError:
            return JSONResponse({"error": "since must be an ISO 8601 time"}, status_code=400)
        return JSONResponse({"range": range_name, "window_seconds": config.processor.window,
                             "symbols": list(config.exchange.symbols), "rows": rows})

    def health_figures(_request: Request) -> Response:
        return JSONResponse(health.read())

    routes = [Route("/", page), Route("/api/candles", window_rows), Route("/api/health", health_figures),
              Route("/static/plotly.min.js", plotly_js), Mount("/static", StaticFiles(directory=STATIC))]
    return Starlette(routes=routes, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]), Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds HEADERS to every response (an ASGI middleware)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)
        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="cryptostream-dashboard", description=__doc__.splitlines()[0]).parse_args(argv)
    configure("dashboard")
    try:
        config = load()
    except ConfigError as exc:
        log.error(events.CONFIG_ERROR, error=str(exc))
        return 2
    try:
        db.reader_password(config)
    except OSError as exc:  # a password file named but not there: say so once, not per request
        log.error(events.CANNOT_START, error=f"dashboard.password_file {config.dashboard.password_file}: "
                                             f"{exc.strerror or exc}")
        return 2
    log.info(events.STARTED, url=f"http://127.0.0.1:{config.dashboard.port}/")
    uvicorn.run(make_app(config), host="127.0.0.1", port=config.dashboard.port, log_config=None,
                access_log=False, server_header=False)
    return 0
