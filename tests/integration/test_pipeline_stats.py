"""pipeline_stats against a real private MariaDB: writes that repeat a minute count once, figures
held while MySQL is away and written later, a batch's statistics in its own transaction,
bounded pruning, and bin/monthly-report over 30 days of seeded statistics, its figures and
plots checked against values computed here from the raw observations."""
from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.ops.health.monthly_report import Report
from cryptostream.ops.health.probes.pipeline_stats import read_stats
from cryptostream.ops.health.report_plots import read_series
from cryptostream.pipeline.processor.batch_stats import BatchStats, counts
from cryptostream.pipeline.processor.sink import MySQLSink
from cryptostream.pipeline.stats import RunStats, StatsWriter, table
from cryptostream.pipeline.stats.names import (API_ERRORS, API_LATENCY, API_RATE_LIMITED, BATCH_DURATION, DROPPED,
                                               LAG, MESSAGES_PROCESSED, MYSQL_WRITE, MYSQL_WRITE_FAILURES, PROCESSOR,
                                               PRODUCER, PUBLISH_FAILURES, PUBLISHED, WARM_UP_DURATION, rejected)
from tests.helpers.harness import query
from tests.helpers.stack import ContainerStack, docker_unavailable, running

pytestmark = pytest.mark.integration  # a private MariaDB (tests/integration/conftest.py: mysql_config)
# the monthly report also against the container stack's MySQL (marked container)

NOW = datetime(2026, 6, 1, 12, 0)


def epoch(when: datetime) -> float:
    return (when - datetime(1970, 1, 1)).total_seconds()


def stored(config: Config, program: str, metric: str, since: datetime = NOW) -> list[tuple]:
    return query(config, "SELECT minute, run_id, samples, total FROM pipeline_stats WHERE program = %s AND "
                         "metric = %s AND minute >= %s ORDER BY minute, run_id", (program, metric, since))


def test_repeating_a_minute_counts_it_once_and_a_restart_adds_its_run(mysql_config: Config) -> None:
    """The writer rewrites a run's minute whole: writing it twice, or three times as it grows,
    leaves one row with the run's figures; a second run in the same minute has a row of its own
    and the reader sums both."""
    now = [epoch(NOW) + 5]
    first = RunStats("producer", clock=lambda: now[0], run_id=11)
    writer = StatsWriter(mysql_config, first)
    first.add(PUBLISHED, 40)
    assert writer.write()
    assert writer.write()
    first.add(PUBLISHED, 2)
    assert writer.write()
    assert stored(mysql_config, "producer", PUBLISHED) == [(NOW, 11, 42, Decimal("42.000000"))]
    second = RunStats("producer", clock=lambda: now[0], run_id=12)  # restarted within the minute
    second.add(PUBLISHED, 8)
    assert StatsWriter(mysql_config, second).write()
    merged = read_stats(mysql_config, NOW, NOW + timedelta(minutes=1), (PUBLISHED, "starts"))
    assert merged.count("producer", PUBLISHED) == 50
    assert merged.count("producer", "starts") == 2


def test_figures_held_while_mysql_is_away_are_written_later(mysql_config: Config) -> None:
    """Writes to a MySQL that is not there fail and keep every minute; the first write that
    reaches MySQL stores them all, exactly."""
    now = [epoch(NOW + timedelta(hours=1))]
    stats = RunStats("producer", clock=lambda: now[0], run_id=21)
    nowhere = dataclasses.replace(mysql_config, mysql=dataclasses.replace(mysql_config.mysql, port=1))
    reachable = [False]
    writer = StatsWriter(mysql_config, stats,
                         connect=lambda: db.connect(mysql_config if reachable[0] else nowhere, timeout=2))
    for minute in range(3):
        now[0] = epoch(NOW + timedelta(hours=1, minutes=minute)) + 30
        stats.add(PUBLISHED, 10 + minute)
        assert not writer.write()
    assert writer.failures == 3
    assert stats.held_minutes() == 3
    reachable[0] = True
    assert writer.write()
    rows = stored(mysql_config, "producer", PUBLISHED, NOW + timedelta(hours=1))
    assert [(r[0].minute, r[2]) for r in rows] == [(0, 10), (1, 11), (2, 12)]


def test_a_batch_s_statistics_commit_with_it_and_a_replay_adds_nothing(mysql_config: Config) -> None:
    """The counts go in the batch's transaction; Spark replaying the batch finds it applied and
    writes nothing; without the table (a database made before it) the batch still commits."""
    now = [epoch(NOW + timedelta(hours=2)) + 1]
    sink, stats = MySQLSink(mysql_config), BatchStats(mysql_config, clock=lambda: now[0])
    for attempt in range(2):
        result = sink.write_batch(9000, [], [], {}, 0, stats=stats.rows_for(counts(77, 0, {"late": 3})))
        stats.committed(result)
        assert result.skipped == bool(attempt)
    since = NOW + timedelta(hours=2)
    assert [r[2] for r in stored(mysql_config, "processor", MESSAGES_PROCESSED, since)] == [77]
    assert [r[2] for r in stored(mysql_config, "processor", rejected("late"), since)] == [3]
    admin = db.connect(mysql_config, admin=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute("RENAME TABLE pipeline_stats TO pipeline_stats_aside")
            try:
                result = sink.write_batch(9001, [], [], {}, 0, stats=stats.rows_for(counts(5, 0, {})))
            finally:
                cursor.execute("RENAME TABLE pipeline_stats_aside TO pipeline_stats")
    finally:
        admin.close()
    assert not result.skipped
    assert not result.stats_stored
    assert sink.progress()[0] == 9001
    sink.close()


def test_pruning_deletes_old_minutes_a_bounded_number_at_a_time(mysql_config: Config) -> None:
    old = datetime(2000, 1, 1)
    rows = [(old + timedelta(minutes=m), "processor", 1, MESSAGES_PROCESSED, 1, Decimal(1), None, None, None)
            for m in range(2500)]
    rows.append((datetime(2001, 1, 1), "processor", 1, MESSAGES_PROCESSED, 1, Decimal(1), None, None, None))
    db.run_committed(db.connect(mysql_config), lambda cursor: table.upsert(cursor, rows))
    sink = MySQLSink(mysql_config)
    assert [sink.prune_stats(datetime(2001, 1, 1)) for _ in range(4)] == [1000, 1000, 500, 0]
    left = query(mysql_config, "SELECT minute FROM pipeline_stats WHERE minute < %s", (datetime(2002, 1, 1),))
    assert left == [(datetime(2001, 1, 1),)], "the minute at the retention stays"
    sink.close()


# --- bin/monthly-report over 30 days ---

UNTIL = datetime(2024, 4, 1)
SINCE = UNTIL - timedelta(days=30)
RESTART = SINCE + timedelta(days=12, hours=5, minutes=17, seconds=20)  # the processor restarts mid-minute


def edges_seconds() -> list[float]:
    """The documented edges, derived here: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^e, 1 ms to 1000 s."""
    mantissas = ("1", "1.2", "1.5", "2", "2.5", "3", "4", "5", "6", "8")
    return [float(Decimal(m) * Decimal(10) ** e) for e in range(-3, 3) for m in mantissas] + [1000.0]


def edges_messages() -> list[float]:
    return [0.0] + sorted({float(round(e)) for e in edges_seconds() + [x * 1000 for x in edges_seconds()]
                           + [x * 1e6 for x in edges_seconds()] if e >= 1})


def upper_bound(values: list[float], fraction: float, edges: list[float]) -> float:
    """Nearest-rank percentile of the values, raised to its bucket's upper edge, capped by the maximum."""
    ordered = sorted(values)
    true = ordered[int(round(fraction * (len(ordered) - 1)))]
    return min(next((e for e in edges if e >= true), float("inf")), ordered[-1])


def micro(value: float) -> float:
    return round(value * 1_000_000) / 1_000_000


class Seeded:
    """30 days (and some hours either side) of per-minute figures, written through RunStats and
    the upsert, with the raw observations kept to compute the expected report independently."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.raw: dict[str, list[tuple[datetime, float]]] = {}  # metric -> (minute, value) inside the period
        self.clock = [0.0]
        self.runs: list[RunStats] = []
        self.flushes = 0

    def run(self, program: str, at: datetime) -> RunStats:
        self.clock[0] = epoch(at)
        made = RunStats(program, max_minutes=10**6, clock=lambda: self.clock[0], run_id=len(self.runs) + 1)
        self.runs.append(made)
        if SINCE <= at < UNTIL:
            self.raw.setdefault(f"{program}:starts", []).append((at, 1))
        return made

    def record(self, run: RunStats, minute: datetime, metric: str, value: float, measured: bool) -> None:
        run.observe(metric, value) if measured else run.add(metric, int(value))
        if SINCE <= minute < UNTIL:
            self.raw.setdefault(metric, []).append((minute, micro(value) if measured else value))

    def seed(self) -> None:
        rng = random.Random(14)
        producer = self.run(PRODUCER, SINCE - timedelta(hours=3))
        processor = self.run(PROCESSOR, SINCE - timedelta(hours=3))
        minute = SINCE - timedelta(hours=3)
        while minute < UNTIL + timedelta(hours=3):
            if minute <= RESTART < minute + timedelta(minutes=1):
                self.clock[0] = epoch(minute) + 5
                self.record(processor, minute, MESSAGES_PROCESSED, 40, False)
                self.flush(processor)
                processor = self.run(PROCESSOR, RESTART)
            self.clock[0] = epoch(minute) + 30
            self.minute_of_figures(producer, processor, minute, rng)
            minute += timedelta(minutes=1)
            if minute.minute == 0 and minute.hour % 6 == 0:
                self.flush(producer, processor)
        self.flush(producer, processor)

    def minute_of_figures(self, producer: RunStats, processor: RunStats, minute: datetime, rng: random.Random) -> None:
        for _ in range(3):
            self.record(producer, minute, API_LATENCY, rng.lognormvariate(-3, 0.8), True)
            self.record(processor, minute, BATCH_DURATION, rng.choice((0.1, 0.2)) + rng.random() * 0.3
                        + (7.0 if rng.random() < 0.001 else 0), True)
            self.record(processor, minute, MYSQL_WRITE, rng.uniform(0.002, 0.06), True)
            self.record(processor, minute, LAG, float(rng.randrange(0, 400)), True)
        self.record(producer, minute, PUBLISHED, rng.randrange(250, 320) + (900 if minute.hour == 13 else 0), False)
        self.record(processor, minute, MESSAGES_PROCESSED, rng.randrange(250, 320), False)
        for metric, chance in ((API_ERRORS, 0.01), (API_RATE_LIMITED, 0.002), (PUBLISH_FAILURES, 0.003),
                               (DROPPED, 0.001), (MYSQL_WRITE_FAILURES, 0.004), (rejected("late"), 0.02),
                               (rejected("duplicate"), 0.01)):
            if rng.random() < chance:
                self.record(producer if metric in (API_ERRORS, API_RATE_LIMITED, PUBLISH_FAILURES, DROPPED)
                            else processor, minute, metric, rng.randrange(1, 4), False)
        if minute.minute == 7 and minute.hour == 0:  # a warm-up batch: not a micro-batch of the figures
            self.record(processor, minute, WARM_UP_DURATION, 12.5, True)

    def flush(self, *runs: RunStats) -> None:
        """Write the runs' held minutes, then forget them; one flush in ten twice (a repeated
        write must not count twice; every time would double the seeding's time)."""
        for run in runs:
            current, rows = run.pending()
            self.flushes += 1
            repeats = 2 if self.flushes % 10 == 1 else 1
            db.run_committed(db.connect(self.config), lambda cursor: [table.upsert(cursor, rows) for _ in range(repeats)])
            run.written(current + 1)

    def values(self, metric: str) -> list[float]:
        return [v for _, v in self.raw.get(metric, [])]

    def total(self, metric: str) -> int:
        return int(sum(self.values(metric)))

    def hourly(self, metric: str) -> dict[datetime, list[float]]:
        hours: dict[datetime, list[float]] = {}
        for minute, value in self.raw.get(metric, []):
            hours.setdefault(minute.replace(minute=0), []).append(value)
        return dict(sorted(hours.items()))


ROW_INSERT = ("INSERT INTO moving_averages (symbol, start_time, end_time, average_price, min_price, max_price, "
              "open_price, close_price, sample_count, price_sum, first_event_time, last_event_time, "
              "newest_ingest_time, created_at, updated_at) "
              "VALUES ('BTCUSDT', %s, %s, 1, 1, 1, 1, 1, 1, 1, %s, %s, %s, %s, %s)")


@pytest.fixture(scope="module", params=["native", pytest.param("docker", marks=pytest.mark.container)])
def deployment(request, tmp_path_factory):
    """The MySQL the report reads: the private MariaDB of this tier, or the container stack's
    mysql service (its own image, schema and narrowed grants), reached as the runbook reaches it."""
    if request.param == "native":
        yield NativeDeployment(request.getfixturevalue("mysql_config"))
        return
    if reason := docker_unavailable():
        pytest.skip(f"container stack skipped: {reason}")
    for stack in running(MySQLOnly(tmp_path_factory.mktemp("mysql-container"))):
        yield stack.deployment


class MySQLOnly(ContainerStack):
    """The container stack's mysql service alone: all the monthly report's figures come from it."""
    order = ("mysql",)


@pytest.fixture(scope="module")
def month(deployment, tmp_path_factory) -> tuple[Seeded, Path]:
    mysql_config = deployment.config
    seeded = Seeded(mysql_config)
    seeded.seed()
    latencies = [0.5, 1.25, 0.75, 2.0, 0.25]  # rows of moving_averages updated inside the period
    for n, seconds in enumerate(latencies):
        updated = SINCE + timedelta(days=3 + n, microseconds=250_000)
        params = (updated, updated + timedelta(minutes=1), updated, updated, updated - timedelta(seconds=seconds),
                  updated, updated)
        db.run_committed(db.connect(mysql_config), lambda cursor: cursor.execute(ROW_INSERT, params))
    seeded.raw["end_to_end"] = [(SINCE, s) for s in latencies]
    folder = tmp_path_factory.mktemp("report")
    Report(deployment, folder, until=UNTIL).write()
    return seeded, folder


def figures_of(folder: Path) -> dict[str, tuple[str, str]]:
    """{figure: (value, source)} from the report's 5.2 table."""
    text = (folder / "report.md").read_text()
    section = text.split("## 5.2 Performance", 1)[1].split("\n## ", 1)[0]
    cells = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return {c[0].strip(): (c[1].strip(), c[2].strip()) for c in cells[1:]}


def bounds(values: list[float], edges: list[float], unit: str = "{:.3f}") -> str:
    return " / ".join("<=" + unit.format(upper_bound(values, q, edges)) for q in (0.5, 0.95, 0.99))


def test_the_monthly_report_states_the_seeded_figures(month) -> None:
    """Every 5.2 figure equals what the raw observations give, and names pipeline_stats (or
    moving_averages) as its source; minutes outside the 30 days are left out."""
    seeded, folder = month
    found = figures_of(folder)
    seconds = edges_seconds()
    processed = seeded.total(MESSAGES_PROCESSED)
    busiest = max(sum(v) for v in seeded.hourly(MESSAGES_PROCESSED).values())
    durations, writes, api = (seeded.values(m) for m in (BATCH_DURATION, MYSQL_WRITE, API_LATENCY))
    lag = seeded.values(LAG)
    expected = {
        "messages processed": str(processed),
        "Kafka throughput, average / busiest hour (msgs/s)": f"{processed / (30 * 86400):.3f} / {busiest / 3600:.3f}",
        "micro-batches (after warm-up)": str(len(durations)),
        "micro-batch duration p50 / p95 / p99 (s)": bounds(durations, seconds),
        "micro-batch duration mean / max (s)": f"{sum(durations) / len(durations):.3f} / {max(durations):.3f}",
        "MySQL write latency p50 / p95 / p99 (s)": bounds(writes, seconds),
        "MySQL write latency mean / max (s)": f"{sum(writes) / len(writes):.3f} / {max(writes):.3f}",
        "MySQL write failures (retried)": str(seeded.total(MYSQL_WRITE_FAILURES)),
        "Kafka lag p50 / p95 / p99, max (messages)": f"{bounds(lag, edges_messages(), '{:g}')}, {max(lag):g}",
        "end-to-end latency p50 / p95 / p99 (s)": "0.750 / 2.000 / 2.000",
        "exchange requests answered / failed / rate-limited":
            f"{len(api)} / {seeded.total(API_ERRORS)} / {seeded.total(API_RATE_LIMITED)}",
        "exchange API latency p50 / p95 / p99 (s)": bounds(api, seconds),
        "exchange API latency mean / max (s)": f"{sum(api) / len(api):.3f} / {max(api):.3f}",
        "messages published, average rate (msgs/s)":
            f"{seeded.total(PUBLISHED)}, {seeded.total(PUBLISHED) / (30 * 86400):.3f}",
        "publish failures (sent again) / messages dropped": f"{seeded.total(PUBLISH_FAILURES)} / {seeded.total(DROPPED)}",
        "rejected messages by reason":
            f"duplicate {seeded.total(rejected('duplicate'))}, late {seeded.total(rejected('late'))}",
        "program starts, producer / processor (restarts + 1 each run)":
            f"{len(seeded.values('producer:starts'))} / {len(seeded.values('processor:starts'))}",
        "statistics minutes dropped unwritten, producer / processor": "0 / 0",
    }
    for figure, value in expected.items():
        assert figure in found, f"the report lacks {figure!r}: {sorted(found)}"
        assert found[figure][0] == value, f"{figure}: report {found[figure][0]!r}, expected {value!r}"
        source = "moving_averages" if figure.startswith("end-to-end") else "pipeline_stats"
        assert found[figure][1].startswith(source), f"{figure}: source {found[figure][1]!r}"
    assert max(durations) > 5 and seeded.values(WARM_UP_DURATION), "the seed has slow and warm-up batches"
    assert seeded.values("processor:starts") == [1], "the seed restarts the processor once within the period"


def plotted(folder: Path, name: str) -> dict[str, list[tuple[str, float]]]:
    """A plot's series from the CSV written beside it, after checking the PNG is one and is shown."""
    assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
    assert f"]({name})" in (folder / "report.md").read_text(), f"the report does not show {name}"
    return {label: [(x, float(y)) for x, y in points]
            for label, points in read_series((folder / name).with_suffix(".csv")).items()}


def test_the_monthly_report_plots_the_seeded_hours(month) -> None:
    """Each plot's series, point by point, equals the hourly figures of the raw observations:
    throughput per hour, hourly p95 bucket edge and maximum of the timings, largest lag."""
    seeded, folder = month
    seconds = edges_seconds()
    hours = [hour.isoformat() for hour in seeded.hourly(MESSAGES_PROCESSED)]
    assert len(hours) == 30 * 24
    throughput = plotted(folder, "throughput.png")
    for label, metric in (("processed", MESSAGES_PROCESSED), ("published", PUBLISHED)):
        expected = [(h.isoformat(), sum(v) / 3600) for h, v in seeded.hourly(metric).items()]
        assert throughput[label] == expected, f"throughput {label} differs"
    for name, metric in (("batch-duration.png", BATCH_DURATION), ("mysql-write.png", MYSQL_WRITE),
                         ("api-latency.png", API_LATENCY)):
        series = plotted(folder, name)
        hourly = seeded.hourly(metric)
        assert series["p95 (bucket edge)"] == [(h.isoformat(), upper_bound(v, 0.95, seconds)) for h, v in hourly.items()], name
        assert series["max"] == [(h.isoformat(), max(v)) for h, v in hourly.items()], name
    assert plotted(folder, "lag.png")["max"] == [(h.isoformat(), max(v)) for h, v in seeded.hourly(LAG).items()]
    assert sorted(y for _, y in plotted(folder, "latency.png")["seconds"]) == [0.25, 0.5, 0.75, 1.25, 2.0]
