"""Faults under a small load, in production mode (tests/faults/stack.py): a worker SIGKILLed,
an API replica SIGKILLed, PostgreSQL restarted. Each is followed by the database audit of
tests/faults/load.py (every acknowledged message stored once, answered once or marked error,
none stuck after the repair interval), and by a new turn that must be answered within 10 s
with no other process restarted. (Redis restarts and cut connections: tests/integration/
test_redis_restart.py and test_redis_kill.py.)"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.e2e.harness import wait_until
from tests.faults.load import LoadResult, accounts, answered_within, audit_until_clean, conversation, sessions_for
from tests.faults.stack import REPAIR_GRACE_S, REPAIR_INTERVAL_S, FaultStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.faults,
    pytest.mark.timeout(240),
    pytest.mark.asyncio(loop_scope="session"),
]

CONVERSATIONS, TURNS = 24, 3
ANSWER_BAR_S = 10.0
AUDIT_WITHIN_S = REPAIR_GRACE_S + 3 * REPAIR_INTERVAL_S + 20


async def _under_load(
    stack: FaultStack, urls: Callable[[int], str], fault: Callable[[], object], seed: int = 0
) -> LoadResult:
    """CONVERSATIONS conversations of TURNS turns; ``fault()`` runs (in a thread) mid-load."""
    people = await accounts(stack.url(), 4)
    sessions = [(p, s) for p in people for s in await sessions_for(p, CONVERSATIONS // len(people))]
    result = LoadResult()
    rng = random.Random(seed)
    deadline = time.monotonic() + 60
    load = asyncio.gather(
        *(
            conversation(urls, person, session, result, TURNS, deadline, rng=random.Random(rng.random()))
            for person, session in sessions
        )
    )
    # The fault lands once the load is flowing: some turns answered, others streaming.
    waited = time.monotonic() + 30
    while len(result.done) < len(sessions) // 2 and time.monotonic() < waited:
        await asyncio.sleep(0.1)
    assert result.done, f"no turn was answered before the fault: {result.summary()}"
    await asyncio.to_thread(fault)
    await load
    return result


async def _audit(stack: FaultStack, result: LoadResult) -> None:
    report = await audit_until_clean(stack.database_dsn, result.acked, AUDIT_WITHIN_S)
    assert report.clean, f"{report}; clients saw {result.summary()}"
    assert report.stored == len(result.acked)
    assert not result.unfinished, f"clients gave up on {len(result.unfinished)} turns: {result.summary()}"


async def _new_turn_within_bar(stack: FaultStack, api: str = "api-a") -> float:
    person = (await accounts(stack.url(api), 1))[0]
    session = (await sessions_for(person, 1))[0]
    return await answered_within(stack.url(api), person, session, ANSWER_BAR_S)


async def test_a_worker_sigkilled_under_load_loses_no_turn(fault_stack: FaultStack) -> None:
    stack = fault_stack
    pids = {name: p.pid for name, p in stack.apis.items()}
    try:
        result = await _under_load(
            stack,
            lambda attempt: stack.url("api-a" if attempt % 2 == 0 else "api-b"),
            lambda: stack.workers["worker-a"].kill(signal.SIGKILL),
        )
        took = await _new_turn_within_bar(stack)
        await _audit(stack, result)
        assert stack.workers["worker-b"].alive() and {n: p.pid for n, p in stack.apis.items()} == pids
        assert all(p.alive() for p in stack.apis.values())
        print(f"worker SIGKILL: {result.summary()}, new turn answered in {took:.1f} s")
    finally:
        if not stack.workers["worker-a"].alive():
            stack.start_worker("worker-a")  # the killed one replaced, for the tests after this one
        wait_until(stack.workers_heartbeating, 120, "the replacement worker to heartbeat")


async def test_an_api_replica_sigkilled_under_load_loses_no_turn(fault_stack: FaultStack) -> None:
    stack = fault_stack
    # Every conversation starts on api-b and moves to api-a when its socket dies.
    try:
        result = await _under_load(
            stack,
            lambda attempt: stack.url("api-b" if attempt == 0 else "api-a"),
            lambda: stack.apis["api-b"].kill(signal.SIGKILL),
        )
        took = await _new_turn_within_bar(stack, "api-a")
        await _audit(stack, result)
        assert result.reconnects > 0, "no socket was on the killed replica"
        assert stack.apis["api-a"].alive() and all(w.alive() for w in stack.workers.values())
        print(f"API SIGKILL: {result.summary()}, new turn answered in {took:.1f} s")
    finally:
        if not stack.apis["api-b"].alive():
            stack.start_api("api-b")


def _restart_postgres() -> float:
    """``pg_ctlcluster restart`` (fast shutdown: sessions are cut); seconds it was down."""
    cluster = max(os.listdir("/etc/postgresql"))
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart", "-m", "fast"],
        check=True,
        timeout=60,
        capture_output=True,
    )
    return time.monotonic() - started


def _can_restart_postgres(dsn: str) -> bool:
    if not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql") or os.geteuid() != 0:
        return False
    with psycopg.connect(dsn, connect_timeout=5) as conn:  # the cluster pg_ctlcluster restarts is this one
        return conn.info.host in ("127.0.0.1", "localhost", "/var/run/postgresql")


async def test_a_postgres_restart_under_load_is_ridden_out_without_restarting_anything(fault_stack: FaultStack) -> None:
    stack = fault_stack
    if not _can_restart_postgres(stack.database_dsn):
        pytest.skip("restarting PostgreSQL needs root and the local Debian cluster (pg_ctlcluster)")
    pids = {name: p.pid for name, p in [*stack.apis.items(), *stack.workers.items()]}
    down: list[float] = []
    result = await _under_load(
        stack,
        lambda attempt: stack.url("api-a" if attempt % 2 == 0 else "api-b"),
        lambda: down.append(_restart_postgres()),
    )
    back_at = time.monotonic()
    took = await _new_turn_within_bar(stack)
    assert time.monotonic() - back_at < ANSWER_BAR_S + 1
    await _audit(stack, result)
    assert stack.all_alive() and {n: p.pid for n, p in [*stack.apis.items(), *stack.workers.items()]} == pids
    print(f"PostgreSQL restart ({down[0]:.1f} s): {result.summary()}, new turn answered in {took:.1f} s")
