"""A backup taken from the container stack restores into the native one, and the reverse:
bin/backup --docker then bin/restore --native (and --native then --docker) give the same rows,
table by table. Both stacks run side by side on ports of their own; the container one is the
package's (tests/e2e/container/conftest.py)."""
from __future__ import annotations

import pytest

from cryptostream.ops.stack.provisioning import TABLES
from tests.helpers.harness import wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = [pytest.mark.e2e, pytest.mark.container]


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    yield from running(NativeStack(tmp_path_factory.mktemp("across-native"), **FAST_STACK))


@pytest.fixture(scope="module")
def docker(compose_stack):
    """The package's container stack (bin/up --docker); what the tests stop and add there is
    started and dropped again for the tests after them."""
    yield compose_stack
    for program in ("processor", "producer"):
        started = compose_stack.deployment.control("start", program)
        assert started.returncode == 0, started.stdout + started.stderr
    compose_stack.deployment.admin_sql("DROP DATABASE IF EXISTS `from_native`")


def quiesced_backup(stack: NativeStack) -> str:
    """Stop the producer, let the processor apply everything, stop it too (no more writes), and take
    a backup with the stack's own flag; the file's path."""
    for program in ("producer", "processor"):
        if program == "processor":
            wait_until_processed(stack.config)
        stopped = stack.deployment.control("stop", program)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    made = stack.run("backup", stack.deployment.flag)
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout.splitlines()[0]


def rows(stack: NativeStack, database: str, table: str) -> list[list[str]]:
    """A table's rows as the MySQL client prints them, as the stack's administrator."""
    return stack.deployment.admin_sql(f"SELECT * FROM `{database}`.`{table}` ORDER BY 1, 2, 3, 4")


@pytest.mark.parametrize("source,target", [("docker", "native"), ("native", "docker")])
def test_a_backup_restores_into_the_other_stack_row_for_row(source, target, request) -> None:
    """Every table restored into the other stack equals the source, row for row and field for field."""
    origin, destination = request.getfixturevalue(source), request.getfixturevalue(target)
    path = quiesced_backup(origin)
    database = f"from_{source}"
    restored = destination.run("restore", path, "--database", database, destination.deployment.flag)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "row counts verified" in restored.stdout
    for table in TABLES:
        assert rows(destination, database, table) == rows(origin, "crypto_streaming", table), table
    assert rows(origin, "crypto_streaming", "moving_averages"), "the source had no windows to carry over"
