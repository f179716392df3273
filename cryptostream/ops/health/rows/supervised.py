"""Rows about a program under supervisord: is it running, and how often did it die."""
from __future__ import annotations

from cryptostream.ops.checks import Result, fail, ok, warn
from cryptostream.ops.health.facts import Facts


def running(facts: Facts, component: str, program: str) -> Result:
    info = facts.states().get(program)
    if info is None:
        return fail(component, "running", f"{program} is not a program of the {facts.deployment.name} stack")
    if info["statename"] != "RUNNING":
        return fail(component, "running", f"{program} is {info['statename']}", info["statename"])
    return ok(component, "running", f"{program} RUNNING ({info['description']})", info["statename"])


def restarts(facts: Facts, component: str, program: str) -> Result:
    exits = facts.deployment.unexpected_exits().get(program, 0)
    limit = facts.limits.restarts_warn
    detail = f"{program} died unexpectedly {exits} time(s) in 24 h (and was restarted)"
    if exits > limit:
        return warn(component, "restarts", f"{detail}: abnormal, > {limit}", exits)
    return ok(component, "restarts", detail, exits)
