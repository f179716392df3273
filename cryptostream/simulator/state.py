"""The simulated exchange's shared state: request weight, pending faults, the request log and
each symbol's status, used by every handler thread."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from cryptostream.simulator.faults import FAULT_MODES, SYMBOL_FAULTS, SYMBOL_STATUSES
from cryptostream.simulator.prices import PricePath, start_prices
from cryptostream.simulator.stream import STREAM_FAULTS, StreamLog
from cryptostream.simulator.trade_tape import TradeTape


class ExchangeState:
    """Weight accounting, pending faults and the request log, shared by handler threads."""

    def __init__(self, path: PricePath, tape: TradeTape | None = None) -> None:
        self.path = path
        self.tape = tape or TradeTape(0, start_prices(path))
        self.stream = StreamLog()
        self.faults: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.weight_minute = -1
        self.weight_used = 0
        self.lock = threading.Lock()
        self.statuses = {symbol: "TRADING" for symbol in path.symbols}  # a delisted symbol is absent
        self.clock_offset = 0.0  # seconds the exchange's clock is ahead of this machine's (clock_offset)

    def server_time_ms(self) -> int:
        return int((time.time() + self.clock_offset) * 1000)

    def listed(self) -> list[str]:
        """The symbols the exchange lists now, in their usual order."""
        return [symbol for symbol in self.path.symbols if symbol in self.statuses]

    def change_symbol(self, fault: dict[str, Any]) -> None:
        """delist / symbol_status: applied at once, for every later request and stream."""
        symbol, status = fault.get("symbol"), fault.get("status")
        if symbol not in self.path.symbols:
            raise ValueError(f"unknown symbol {symbol!r}; one of {self.path.symbols}")
        if fault["mode"] == "symbol_status" and status not in SYMBOL_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(SYMBOL_STATUSES)}")
        with self.lock:
            if fault["mode"] == "delist":
                self.statuses.pop(symbol, None)
            else:
                self.statuses[symbol] = status

    def use_weight(self, weight: int) -> int:
        with self.lock:
            minute = int(time.time() // 60)
            if minute != self.weight_minute:
                self.weight_minute, self.weight_used = minute, 0
            self.weight_used += weight
            return self.weight_used

    def add_fault(self, fault: dict[str, Any]) -> None:
        if fault.get("mode") not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {fault.get('mode')!r}; one of {sorted(FAULT_MODES)}")
        if fault["mode"] in STREAM_FAULTS:
            return self.stream.apply(fault)  # at once, not for the next ticker request
        if fault["mode"] in SYMBOL_FAULTS:
            return self.change_symbol(fault)
        if fault["mode"] == "clock_offset":  # at once and until changed: "seconds" ahead (or behind, < 0)
            self.clock_offset = float(fault.get("seconds", 0))
            return None
        with self.lock:
            self.faults.extend([fault] * int(fault.get("count", 1)))

    def take_fault(self, port: int, endpoint: str = "ticker") -> dict[str, Any] | None:
        """The first pending fault for a request to `endpoint` on `port`, removed from the queue."""
        with self.lock:
            for fault in self.faults:
                if fault.get("port") in (None, port) and fault.get("endpoint", "ticker") == endpoint:
                    self.faults.remove(fault)
                    return fault
            return None
