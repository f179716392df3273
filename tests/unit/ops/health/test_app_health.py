"""The app container's health check decides "working" from what it saw: programs, the newest
committed micro-batch and the newest published message, against checks.freshness."""
from __future__ import annotations

import os

import pytest

from cryptostream.ops.health.app_health import Observation, newest_commit_age, verdict

FRESHNESS = 120.0
RUNNING = {"producer": "RUNNING", "processor": "RUNNING"}


def seen(states=None, batch_age: float | None = 2.0, publish_age: float | None = 1.0) -> Observation:
    return Observation(RUNNING if states is None else states, batch_age, publish_age)


def test_healthy_when_running_and_fresh() -> None:
    """Both programs running, a batch and a message within the freshness limit: healthy."""
    healthy, why = verdict(seen(), FRESHNESS)
    assert healthy
    assert "committed 2s ago" in why


@pytest.mark.parametrize("states, named", [
    ({"producer": "RUNNING", "processor": "STOPPED"}, "processor is STOPPED"),
    ({"producer": "BACKOFF", "processor": "RUNNING"}, "producer is BACKOFF"),
    ({"producer": "RUNNING"}, "processor is MISSING"),
])
def test_unhealthy_when_a_program_is_not_running(states, named) -> None:
    """A program that supervisord does not report RUNNING makes it unhealthy, named with its state."""
    healthy, why = verdict(seen(states), FRESHNESS)
    assert not healthy
    assert named in why


def test_unhealthy_before_the_first_batch() -> None:
    """No committed batch at all is not working (Docker's start period covers the start)."""
    healthy, why = verdict(seen(batch_age=None), FRESHNESS)
    assert not healthy
    assert "no micro-batch" in why


def test_unhealthy_when_batches_stall_with_processes_alive() -> None:
    """Running processes whose newest batch is older than the limit: unhealthy, with the age."""
    healthy, why = verdict(seen(batch_age=121.0), FRESHNESS)
    assert not healthy
    assert "no micro-batch committed for 121s" in why


def test_unhealthy_when_nothing_is_published() -> None:
    """An empty topic or a newest message older than the limit is a stalled producer."""
    empty, stale = verdict(seen(publish_age=None), FRESHNESS), verdict(seen(publish_age=300.0), FRESHNESS)
    assert not empty[0]
    assert not stale[0]
    assert "nothing published for 300s" in stale[1]


def test_newest_commit_age_reads_the_newest_batch_file(tmp_path) -> None:
    """The age is that of the highest-numbered commits/ file; Spark's .crc files do not count."""
    commits = tmp_path / "commits"
    commits.mkdir()
    for batch, mtime in ((8, 1_000.0), (9, 1_050.0), (10, 1_040.0)):
        (commits / str(batch)).write_text("v1\n")
        os.utime(commits / str(batch), (mtime, mtime))
    (commits / ".11.crc").write_text("")
    assert newest_commit_age(tmp_path, now=1_100.0) == pytest.approx(60.0)


def test_newest_commit_age_is_none_before_the_first_batch(tmp_path) -> None:
    """A checkpoint without commits (or no checkpoint yet) has no age."""
    assert newest_commit_age(tmp_path, now=1.0) is None
