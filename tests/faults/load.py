"""A load driver and a database audit for the fault suite.

Each ``conversation`` holds one WebSocket and takes turns; when its socket dies (a killed
replica, a restart) it reconnects, to another replica if it is given several, and resends the
same ``client_id``, as the React client does. It may also hang up mid-reply on purpose and
resend. What every client saw is kept in ``LoadResult``; ``audit`` then reads PostgreSQL:
every acknowledged message stored once, each answered once (a reply row, or the user message
marked ``error``), and none left unanswered.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import websockets

from tests.support.chat_client import Account, sign_up

CONNECT_TIMEOUT_S = 20.0


@dataclass
class LoadResult:
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> message_id
    done: dict[str, int] = field(default_factory=dict)  # client_id -> reply message id
    errors: Counter[str] = field(default_factory=Counter)  # error frame codes after an ack
    refused: Counter[str] = field(default_factory=Counter)  # error frame codes before any ack (resent)
    server_closes: Counter[int] = field(default_factory=Counter)  # close codes the server sent (1006: none)
    hangups: int = 0  # mid-reply disconnects the client made on purpose
    reconnects: int = 0
    unfinished: list[str] = field(default_factory=list)  # turns a client gave up on at its deadline
    stalls: list[dict[str, Any]] = field(default_factory=list)  # what a client saw of a turn that went quiet
    max_open: int = 0
    _open: int = 0

    def opened(self) -> None:
        self._open += 1
        self.max_open = max(self.max_open, self._open)

    def closed(self) -> None:
        self._open -= 1

    def summary(self) -> dict[str, Any]:
        return {
            "acked": len(self.acked),
            "done": len(self.done),
            "errors": dict(self.errors),
            "refused": dict(self.refused),
            "server_closes": dict(self.server_closes),
            "hangups": self.hangups,
            "reconnects": self.reconnects,
            "unfinished": len(self.unfinished),
            "max_open": self.max_open,
            "stalls": self.stalls[:5],
        }


async def accounts(base_url: str, count: int) -> list[Account]:
    return list(await asyncio.gather(*(sign_up(base_url) for _ in range(count))))


async def sessions_for(account: Account, count: int) -> list[str]:
    async with account.api() as client:

        async def one() -> str:
            reply = await client.post("/api/sessions", json={"title": "load"})
            reply.raise_for_status()
            return reply.json()["id"]

        return [await one() for _ in range(count)]


async def open_socket(base_url: str, account: Account, session_id: str) -> websockets.ClientConnection:
    url = base_url.replace("http", "ws", 1) + f"/ws/chat/{session_id}"
    ws = await websockets.connect(url, open_timeout=CONNECT_TIMEOUT_S, close_timeout=5, max_queue=256)
    await ws.send(json.dumps({"type": "auth", "token": account.token}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
    assert ready["type"] == "ready", ready
    return ws


def _server_code(error: websockets.ConnectionClosed) -> int:
    return error.rcvd.code if error.rcvd is not None else 1006


async def conversation(
    urls: Callable[[int], str],
    account: Account,
    session_id: str,
    result: LoadResult,
    turns: int,
    deadline: float,
    hangup_p: float = 0.0,
    rng: random.Random | None = None,
    started: asyncio.Event | None = None,
    go: asyncio.Event | None = None,
    turn_timeout_s: float = 30.0,
) -> None:
    """``turns`` turns on one session; ``urls(attempt)`` picks the replica for each (re)connect."""
    rng = rng or random.Random()
    attempt = 0
    ws: websockets.ClientConnection | None = None

    async def connect() -> websockets.ClientConnection:
        nonlocal attempt
        while True:
            try:
                socket = await open_socket(urls(attempt), account, session_id)
                result.opened()
                return socket
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed, AssertionError):
                attempt += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2 + rng.random() * 0.3)

    try:
        ws = await connect()
        if started is not None:
            started.set()
        if go is not None:
            await go.wait()
        for turn in range(turns):
            client_id = uuid.uuid4().hex
            content = f"turn {turn} of {session_id[:8]}: work was a lot today {client_id[:6]}"
            hung_up = False
            while client_id not in result.done and time.monotonic() < deadline:
                try:
                    await ws.send(json.dumps({"type": "message", "client_id": client_id, "content": content}))
                    outcome = await _follow(
                        ws,
                        client_id,
                        result,
                        hangup=not hung_up and rng.random() < hangup_p,
                        deadline=min(deadline, time.monotonic() + turn_timeout_s),
                    )
                except websockets.ConnectionClosed as closed:
                    result.server_closes[_server_code(closed)] += 1
                    outcome = "reconnect"
                except TimeoutError:
                    result.unfinished.append(client_id)
                    break
                if outcome in ("done", "errored"):
                    break
                if outcome == "hangup":
                    hung_up = True
                    result.hangups += 1
                    await ws.close()
                if outcome == "refused":
                    await asyncio.sleep(0.3)
                    continue
                result.closed()
                result.reconnects += 1
                attempt += 1
                ws = await connect()
            else:
                if client_id not in result.done:
                    result.unfinished.append(client_id)
    finally:
        if ws is not None:
            await ws.close()
            result.closed()


async def _follow(
    ws: websockets.ClientConnection, client_id: str, result: LoadResult, hangup: bool, deadline: float
) -> str:
    acked = False
    seen: list[str] = []
    while True:
        remaining = max(0.5, deadline - time.monotonic())
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        except TimeoutError:
            result.stalls.append({"client_id": client_id, "message_id": result.acked.get(client_id), "seen": seen[-8:]})
            raise
        kind = frame["type"]
        seen.append(kind if kind != "ack" else f"ack(job_id={frame.get('job_id')}, duplicate={frame.get('duplicate')})")
        if kind == "ack" and frame.get("client_id") == client_id:
            result.acked[client_id] = frame["message_id"]
            acked = True
        elif kind == "token" and hangup and acked:
            return "hangup"
        elif kind == "done" and acked:
            message = frame["message"]
            if message.get("reply_to_id") == result.acked[client_id]:
                result.done[client_id] = message["id"]
                return "done"
        elif kind == "error" and frame.get("code") == "busy" and frame.get("client_id") == client_id:
            result.refused["busy"] += 1  # saved, not queued yet: resend, as the protocol says
            await asyncio.sleep(1)
            return "refused"
        elif kind == "error" and (frame.get("client_id") in (client_id, None) or frame.get("job_id")):
            if acked:
                result.errors[frame["code"]] += 1
                return "errored"
            result.refused[frame["code"]] += 1
            return "refused"


# --- the audit --------------------------------------------------------------------------


@dataclass
class Audit:
    stored: int
    missing: list[str]  # acknowledged, not in the database
    duplicated: list[str]  # a client_id stored more than once
    unanswered: list[int]  # no reply row and not marked error
    answered_twice: list[int]
    statuses: Counter[str]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.duplicated or self.unanswered or self.answered_twice)

    def __str__(self) -> str:
        return (
            f"stored {self.stored}, missing {len(self.missing)}, duplicated {len(self.duplicated)}, "
            f"unanswered {len(self.unanswered)} {self.unanswered[:10]}, answered twice "
            f"{len(self.answered_twice)}, reply statuses {dict(self.statuses)}"
        )


def audit(dsn: str, acked: dict[str, int]) -> Audit:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT u.client_id, u.id, u.status, count(r.id), coalesce(max(r.status), '') FROM messages u"
            " LEFT JOIN messages r ON r.reply_to_id = u.id"
            " WHERE u.role = 'user' AND u.client_id = ANY(%s) GROUP BY u.id",
            (list(acked),),
        ).fetchall()
    per_client = Counter(row[0] for row in rows)
    statuses: Counter[str] = Counter()
    unanswered, twice = [], []
    for _client, message_id, status, replies, reply_status in rows:
        if replies == 0 and status != "error":
            unanswered.append(message_id)
        elif replies > 1:
            twice.append(message_id)
        statuses[reply_status or f"user:{status}"] += 1
    return Audit(
        stored=len(rows),
        missing=[c for c in acked if per_client[c] == 0],
        duplicated=[c for c, n in per_client.items() if n > 1],
        unanswered=unanswered,
        answered_twice=twice,
        statuses=statuses,
    )


async def audit_until_clean(dsn: str, acked: dict[str, int], timeout_s: float) -> Audit:
    """The audit, repeated until clean or ``timeout_s`` (the repair pass may still be answering)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            report = await asyncio.to_thread(audit, dsn, acked)
        except psycopg.OperationalError:
            report = None
        if report is not None and (report.clean or time.monotonic() > deadline):
            return report
        if report is None and time.monotonic() > deadline:
            raise AssertionError("the audit could not reach PostgreSQL")
        await asyncio.sleep(1)


async def timed_turn(base_url: str, account: Account, session_id: str, timeout_s: float) -> float:
    """Seconds until a brand-new turn on ``base_url`` was answered (done, not error)."""
    started = time.monotonic()
    ws = await open_socket(base_url, account, session_id)
    try:
        client_id = uuid.uuid4().hex
        await ws.send(
            json.dumps({"type": "message", "client_id": client_id, "content": f"are you there {client_id[:6]}"})
        )
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, timeout_s - (time.monotonic() - started))))
            if frame["type"] == "error":
                raise AssertionError(f"a new turn got an error: {frame}")
            if frame["type"] == "done":
                return time.monotonic() - started
    finally:
        await ws.close()


async def answered_within(base_url: str, account: Account, session_id: str, bar_s: float) -> float:
    """Retry new turns (each a fresh socket) until one is answered; seconds from the first try."""
    started = time.monotonic()
    last: BaseException | None = None
    while time.monotonic() - started < bar_s:
        try:
            await timed_turn(base_url, account, session_id, bar_s - (time.monotonic() - started))
            return time.monotonic() - started
        except (OSError, TimeoutError, AssertionError, websockets.WebSocketException, httpx.HTTPError) as error:
            last = error
            await asyncio.sleep(0.3)
    raise AssertionError(f"no new turn answered within {bar_s} s (last: {last!r})")
