"""The REST API through a real `attune api` process on PostgreSQL and Redis."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest

from tests.support.chat_client import Account, ChatSocket, history, new_session, open_new_chat, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ADMIN_ROUTES = [
    ("GET", "/api/admin/models", None),
    ("POST", "/api/admin/models/tiny/load", None),
    ("POST", "/api/admin/models/tiny/unload", None),
    ("PUT", "/api/admin/default-model", {"model": "tiny"}),
    ("GET", "/api/admin/workers", None),
    ("GET", "/api/admin/cache", None),
    ("POST", "/api/admin/cache/flush", None),
    ("POST", "/api/admin/journal/retag", None),
    ("GET", "/api/admin/journal/retag", None),
    ("GET", "/api/admin/audit", None),
]


async def make_admin(api_url: str, stack_env: dict[str, str]) -> Account:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    password = "admin password 123"
    subprocess.run(
        [sys.executable, "-m", "attune.cli", "create-admin", email],
        env={**stack_env, "ATTUNE_ADMIN_PASSWORD": password, "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    async with httpx.AsyncClient(base_url=api_url) as client:
        reply = await client.post("/api/auth/login", json={"email": email, "password": password})
        reply.raise_for_status()
        assert reply.json()["user"]["role"] == "admin"
        return Account(api_url, email, reply.json()["access_token"])


async def test_sign_up_log_in_and_me(api_url: str) -> None:
    email = f"Person-{uuid.uuid4().hex[:6]}@Example.com"
    account = await sign_up(api_url, email=email, password="a good long password")
    async with httpx.AsyncClient(base_url=api_url) as client:
        assert (
            await client.post("/api/auth/signup", json={"email": email, "password": "another password"})
        ).status_code == 409
        wrong = await client.post("/api/auth/login", json={"email": email, "password": "not the password"})
        assert wrong.status_code == 401 and wrong.json()["detail"]["code"] == "bad_credentials"
        right = await client.post("/api/auth/login", json={"email": email.lower(), "password": "a good long password"})
        assert right.status_code == 200
        assert (
            await client.post("/api/auth/signup", json={"email": "x@example.com", "password": "short"})
        ).status_code == 422
        assert (await client.get("/api/auth/me")).status_code == 401
        assert (await client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    async with account.api() as client:
        me = (await client.get("/api/auth/me")).json()
    assert me["email"] == email.lower() and me["role"] == "user"


async def test_sign_up_refuses_an_easily_guessed_password_and_says_why(api_url: str) -> None:
    email = f"weak-{uuid.uuid4().hex[:6]}@example.com"
    async with httpx.AsyncClient(base_url=api_url) as client:
        for password in ("password", "password123", email):
            weak = await client.post("/api/auth/signup", json={"email": email, "password": password})
            assert weak.status_code == 422, password
            assert weak.json()["detail"]["code"] == "weak_password"
            assert weak.json()["detail"]["message"].startswith("This password is too easy to guess.")
        assert (
            "top-10 common password"
            in (await client.post("/api/auth/signup", json={"email": email, "password": "password"})).json()["detail"][
                "message"
            ]
        )
        assert (await client.post("/api/auth/login", json={"email": email, "password": "password"})).status_code == 401
        strong = await client.post("/api/auth/signup", json={"email": email, "password": "correct horse battery"})
        assert strong.status_code == 201


async def test_sessions_create_list_rename_delete(api_url: str) -> None:
    account = await sign_up(api_url)
    async with account.api() as client:
        created = (await client.post("/api/sessions", json={"title": "Monday"})).json()
        await client.post("/api/sessions", json={})
        listing = (await client.get("/api/sessions")).json()
        assert listing["total"] == 2 and {s["title"] for s in listing["items"]} == {"Monday", "New chat"}
        renamed = await client.patch(f"/api/sessions/{created['id']}", json={"title": "Tuesday", "model": "tiny"})
        assert renamed.json()["title"] == "Tuesday" and renamed.json()["model"] == "tiny"
        assert (await client.delete(f"/api/sessions/{created['id']}")).status_code == 204
        assert (await client.get(f"/api/sessions/{created['id']}")).status_code == 404
        assert (await client.get("/api/sessions")).json()["total"] == 1


async def test_the_limits_a_client_shows_are_the_ones_the_server_enforces(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        limits = (await anonymous.get("/api/limits")).json()
    assert limits == {
        "message_chars": 4000,
        "journal_chars": 10_000,
        "image_bytes": 1024 * 1024,
        "image_types": ["image/jpeg", "image/png", "image/webp"],
    }
    account = await sign_up(api_url)
    async with account.api() as client:
        too_long = await client.post("/api/journal", json={"text": "a" * (limits["journal_chars"] + 1)})
        assert too_long.status_code == 422
        # Counted in code points, as the client counts them: an emoji is one character.
        at_limit = await client.post("/api/journal", json={"text": "😊" * limits["journal_chars"]})
        assert at_limit.status_code == 201 and at_limit.json()["text"] == "😊" * limits["journal_chars"]
    chat = await ChatSocket.open(account, await new_session(account))
    await chat.say("a" * (limits["message_chars"] + 1))
    refused = await chat.recv(30)
    await chat.close()
    assert refused["type"] == "error" and refused["code"] == "bad_request"
    assert f"{limits['message_chars']} characters" in refused["message"]
    assert await history(account, chat.ready["session_id"]) == [], (
        "a message over the limit is refused, never cut and stored"
    )


async def test_history_pages_newest_last(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    account, session_id, chat = await open_new_chat(api_url)
    for n in range(3):
        await chat.say(f"message {n} {uuid.uuid4().hex}")
        await chat.until({"done"})
    await chat.close()
    async with account.api() as client:
        newest = (await client.get(f"/api/sessions/{session_id}/messages", params={"limit": 4})).json()
        older = (
            await client.get(
                f"/api/sessions/{session_id}/messages", params={"limit": 4, "before": newest["next_before"]}
            )
        ).json()
    assert [m["role"] for m in newest["items"]] == ["user", "assistant", "user", "assistant"]
    assert newest["items"][-1]["id"] > newest["items"][0]["id"]
    assert len(older["items"]) == 2 and older["next_before"] is None
    everything = await history(account, session_id)
    assert [m["id"] for m in older["items"] + newest["items"]] == [m["id"] for m in everything]


async def test_every_admin_route_refuses_a_normal_user(api_url: str) -> None:
    account = await sign_up(api_url)
    async with account.api() as client:
        for method, path, body in ADMIN_ROUTES:
            reply = await client.request(method, path, json=body)
            assert reply.status_code == 403, f"{method} {path} answered {reply.status_code}"
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        for method, path, body in ADMIN_ROUTES:
            assert (await anonymous.request(method, path, json=body)).status_code == 401


async def test_admin_switches_the_default_model_and_it_is_audited(api_url: str, stack_env, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    await wait_ready(api_url)
    admin = await make_admin(api_url, stack_env)
    async with admin.api() as client:
        models = (await client.get("/api/admin/models")).json()
        assert {"tiny", "slow"} <= {m["name"] for m in models}
        assert (await client.put("/api/admin/default-model", json={"model": "no-such-model"})).status_code == 422
        assert (await client.put("/api/admin/default-model", json={"model": "slow"})).json() == {"model": "slow"}
        try:
            user = await sign_up(api_url)
            async with user.api() as user_client:
                picked = {m["name"]: m["default"] for m in (await user_client.get("/api/models")).json()}
            assert picked["slow"] is True and picked["tiny"] is False
            workers = (await client.get("/api/admin/workers")).json()
            assert workers and all(w["heartbeat_age_s"] < 15 for w in workers)
            audit = (await client.get("/api/admin/audit")).json()["items"]
            assert audit[0]["action"] == "model.set_default" and audit[0]["target"] == "slow"
            assert audit[0]["actor_email"] == admin.email
        finally:
            await client.put("/api/admin/default-model", json={"model": "tiny"})
