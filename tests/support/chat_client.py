"""A small real client for the chat API and WebSocket, used by integration and e2e tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets


@dataclass
class Account:
    base_url: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=30)


async def sign_up(base_url: str, email: str | None = None, password: str = "correct horse battery") -> Account:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        reply = await client.post("/api/auth/signup", json={"email": email, "password": password})
        reply.raise_for_status()
        return Account(base_url, email, reply.json()["access_token"])


async def new_session(account: Account, **body: Any) -> str:
    async with account.api() as client:
        reply = await client.post("/api/sessions", json=body)
        reply.raise_for_status()
        return reply.json()["id"]


async def history(account: Account, session_id: str) -> list[dict[str, Any]]:
    async with account.api() as client:
        reply = await client.get(f"/api/sessions/{session_id}/messages", params={"limit": 200})
        reply.raise_for_status()
        return reply.json()["items"]


async def wait_ready(base_url: str, timeout_s: float = 180) -> None:
    """Until /readyz says a worker is alive (its models are then listed too)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            if (await client.get("/readyz")).status_code == 200:
                return
            await asyncio.sleep(0.3)
    raise TimeoutError("no worker became ready")


@dataclass
class Turn:
    """Every frame one turn produced, in order."""

    frames: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    @property
    def done(self) -> dict[str, Any]:
        return self.of("done")[-1]

    @property
    def streamed_text(self) -> str:
        return "".join(f["text"] for f in sorted(self.of("token"), key=lambda f: f["index"]))


class ChatSocket:
    def __init__(self, ws: websockets.ClientConnection, ready: dict[str, Any]) -> None:
        self.ws, self.ready = ws, ready

    @classmethod
    async def open(cls, account: Account, session_id: str) -> ChatSocket:
        url = account.base_url.replace("http", "ws", 1) + f"/ws/chat/{session_id}"
        ws = await websockets.connect(url, max_size=2**22)
        await ws.send(json.dumps({"type": "auth", "token": account.token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ready["type"] == "ready", ready
        return cls(ws, ready)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout_s: float = 120) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))

    async def say(self, content: str, client_id: str | None = None, **extra: Any) -> str:
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "message", "client_id": client_id, "content": content, **extra})
        return client_id

    async def until(self, kinds: set[str], turn: Turn | None = None, timeout_s: float = 120) -> Turn:
        """Collect frames until one of ``kinds`` arrives (it is included)."""
        turn = turn or Turn()
        while True:
            frame = await self.recv(timeout_s)
            turn.frames.append(frame)
            if frame["type"] in kinds:
                return turn

    async def close(self) -> None:
        await self.ws.close()


async def open_new_chat(base_url: str, **session: Any) -> tuple[Account, str, ChatSocket]:
    """Once a worker is ready: a new user's new session (``session`` is its body), with its socket open."""
    await wait_ready(base_url)
    account = await sign_up(base_url)
    session_id = await new_session(account, **session)
    return account, session_id, await ChatSocket.open(account, session_id)
