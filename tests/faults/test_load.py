"""LOAD_SOCKETS concurrent WebSockets on ONE ``attune api`` process, each taking a turn of the
zero-cost echo model; about a fifth hang up mid-reply and resend the same ``client_id`` on a new
socket. Bars: no socket dropped by the server without a close frame (1006), the API process
still up, and the database audit clean (tests/faults/load.py). Sized for two cores; bigger
runs: ``ATTUNE_LOAD_SOCKETS=2000 pytest tests/faults/test_load.py`` (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from tests.faults.load import LoadResult, accounts, audit_until_clean, conversation, sessions_for
from tests.faults.stack import REPAIR_GRACE_S, REPAIR_INTERVAL_S, FaultStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.faults,
    pytest.mark.timeout(300),
    pytest.mark.asyncio(loop_scope="session"),
]

LOAD_SOCKETS = int(os.environ.get("ATTUNE_LOAD_SOCKETS", "500"))
LOAD_ACCOUNTS = max(1, LOAD_SOCKETS // 50)
HANGUP_P = 0.2


async def test_hundreds_of_sockets_on_one_api_process_with_hangups_and_resends(fault_stack: FaultStack) -> None:
    stack = fault_stack
    url = stack.url("api-a")
    people = await accounts(url, LOAD_ACCOUNTS)
    per_person = -(-LOAD_SOCKETS // LOAD_ACCOUNTS)
    sessions = [
        (p, s)
        for p, ss in zip(people, await asyncio.gather(*(sessions_for(p, per_person) for p in people)), strict=True)
        for s in ss
    ][:LOAD_SOCKETS]
    result = LoadResult()
    rng = random.Random(15)
    go = asyncio.Event()
    opened = [asyncio.Event() for _ in sessions]
    started = time.monotonic()
    deadline = started + 150
    load = asyncio.gather(
        *(
            # A turn may wait behind hundreds of others on two cores: no per-turn stall limit short of the deadline.
            conversation(
                lambda _attempt: url,
                person,
                session,
                result,
                1,
                deadline,
                hangup_p=HANGUP_P,
                rng=random.Random(rng.random()),
                started=event,
                go=go,
                turn_timeout_s=150,
            )
            for (person, session), event in zip(sessions, opened, strict=True)
        )
    )
    # Every socket open at once before any turn starts: the bar is about concurrent sockets.
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opened)), 90)
    all_open_s = time.monotonic() - started
    go.set()
    await load
    took = time.monotonic() - started

    assert result.max_open >= LOAD_SOCKETS, result.summary()
    assert result.server_closes.get(1006, 0) == 0, f"the server dropped sockets: {result.summary()}"
    assert stack.apis["api-a"].alive()
    assert result.hangups > 0 and not result.unfinished, result.summary()
    report = await audit_until_clean(stack.database_dsn, result.acked, REPAIR_GRACE_S + 3 * REPAIR_INTERVAL_S + 20)
    assert report.clean and report.stored == len(result.acked) == LOAD_SOCKETS, f"{report}; {result.summary()}"
    print(
        f"{LOAD_SOCKETS} sockets: all open in {all_open_s:.1f} s, every turn answered in {took:.1f} s: "
        f"{result.summary()}; audit: {report}"
    )
