"""The live dashboard in a real browser (the system's Chromium, driven by Playwright) against the
real stack: no console errors, nothing fetched from elsewhere, one chart per symbol with as many
candles as MySQL has windows in the range, health figures equal to the metrics endpoints', a new
window drawn without reloading; a screenshot is kept as the test's artifact."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import mysql.connector
import pytest
import requests

from cryptostream.core import db
from cryptostream.dashboard.health import scrape, total
from tests.helpers.harness import query
from tests.helpers.stack import NativeStack
from tests.helpers.waiting import wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not CHROMIUM, reason="no Chromium (bin/test installs it as root)")]
ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "artifacts"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        # root (CI) cannot use Chromium's sandbox; the page is our own, on 127.0.0.1
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(stack, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.problems, page.requests = [], []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(url(stack))
    page.wait_for_selector("#figures tr")
    yield page
    page.close()


def url(stack: NativeStack, path: str = "/") -> str:
    return f"http://127.0.0.1:{stack.config.dashboard.port}{path}"


def candles_on_page(page, symbol: str) -> int:
    return int(page.get_attribute(f'.chart[data-symbol="{symbol}"]', "data-candles") or -1)


def windows_in_mysql(stack: NativeStack, symbol: str) -> int:
    sql = ("SELECT COUNT(*) FROM moving_averages WHERE symbol = %s "
           "AND start_time >= UTC_TIMESTAMP(3) - INTERVAL 1 HOUR")
    return query(stack.config, sql, (symbol,))[0][0]


def test_a_chart_per_symbol_with_every_window_of_the_hour(stack, page) -> None:
    for symbol in stack.config.exchange.symbols:
        page.wait_for_selector(f'.chart[data-symbol="{symbol}"] .main-svg')
        # the page and MySQL are read moments apart while windows keep coming: bracket the page
        before = windows_in_mysql(stack, symbol)
        shown = candles_on_page(page, symbol)
        after = windows_in_mysql(stack, symbol)
        assert before - 1 <= shown <= after, (symbol, before, shown, after)
        assert shown > 0
    assert not page.problems


def test_a_new_window_appears_without_reloading(stack, page) -> None:
    page.evaluate("window.loadedOnce = true")
    symbol = stack.config.exchange.symbols[0]
    first = candles_on_page(page, symbol)
    wait_until(lambda: candles_on_page(page, symbol) > first, "a new candle drawn", timeout=30, interval=0.5)
    assert page.evaluate("window.loadedOnce") is True  # the same document: no reload
    assert not page.problems


def test_health_figures_equal_the_metrics_endpoints(stack, page) -> None:
    def figure(name: str) -> float:
        return float(page.get_attribute(f'tr[data-figure="{name}"]', "data-value"))
    config = stack.config
    before = scrape(config.metrics.processor_port), scrape(config.metrics.producer_port)
    started = time.time()
    # figures the page read after `before` (the server stamps each reading) and before `after`
    page.wait_for_function("t => Number(document.body.dataset.healthAt) > t", arg=started, timeout=10_000)
    lag, failures = figure("kafka lag"), figure("exchange failures")
    after = scrape(config.metrics.processor_port), scrape(config.metrics.producer_port)
    assert figure("mysql write failures") == total(after[0], "cryptostream_mysql_write_failures_total")
    lags = sorted(total(s, "cryptostream_partition_lag_messages") for s in (before[0], after[0]))
    assert lag >= 0
    assert lags[0] - 50 <= lag <= lags[1] + 50  # lag moves with every batch and poll
    ok = "cryptostream_exchange_requests_total"
    failed = [total(s, ok) - total(s, ok, outcome="ok") for s in (before[1], after[1])]
    assert failed[0] <= failures <= failed[1]
    statuses = page.eval_on_selector_all("#figures tr", "rows => rows.map(r => r.dataset.status)")
    assert len(statuses) == 10
    assert "fail" not in statuses


def test_ranges_read_mysql_and_nothing_leaves_the_machine(stack, page) -> None:
    page.click('#ranges button[data-range="1d"]')
    page.wait_for_function('document.querySelector("#ranges .chosen").dataset.range === "1d"')
    page.wait_for_timeout(1500)
    origin = url(stack, "/")
    assert all(request.startswith(origin) for request in page.requests), \
        [r for r in page.requests if not r.startswith(origin)]
    assert any("/api/candles?range=1d" in r for r in page.requests)
    assert not page.problems
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.click('#ranges button[data-range="1h"]')
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_the_server_is_read_only_and_loopback_only(stack) -> None:
    """GET only, a content policy that allows this origin only, the Host must be loopback (no DNS
    rebinding), an unknown range is a clear 400, and its MySQL account cannot write."""
    page = requests.get(url(stack), timeout=5)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert requests.post(url(stack, "/api/candles"), timeout=5).status_code == 405
    assert requests.get(url(stack), headers={"Host": "evil.example"}, timeout=5).status_code == 400
    wrong = requests.get(url(stack, "/api/candles?range=1y"), timeout=5)
    assert wrong.status_code == 400
    assert "range must be one of" in wrong.json()["error"]
    connection = db.connect_reader(stack.config)
    try:
        with connection.cursor() as cursor, pytest.raises(mysql.connector.Error) as refused:
            cursor.execute("DELETE FROM moving_averages")
        assert refused.value.errno == 1142  # command denied
    finally:
        connection.close()
