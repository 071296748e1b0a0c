"""The mood journal over REST: tagged by the worker, pending (never lost) while it is down."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import date, timedelta

import pytest

from tests.integration.test_rest_api import make_admin
from tests.support.chat_client import Account, sign_up

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
MOODS = {"joy", "sadness", "fear", "anger", "love", "surprise"}


async def _tagged(account: Account, entry_id: int, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    async with account.api() as client:
        while time.monotonic() < deadline:
            entry = (await client.get(f"/api/journal/{entry_id}")).json()
            if entry["mood"] != "pending":
                return entry
            await asyncio.sleep(0.5)
    raise TimeoutError(f"entry {entry_id} was never tagged")


async def test_an_entry_written_while_the_worker_is_down_is_tagged_later(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    account = await sign_up(api_url)
    async with account.api() as client:
        created = await client.post("/api/journal", json={"text": "i feel so happy and grateful today"})
    assert created.status_code == 201
    entry = created.json()
    assert entry["mood"] == "pending" and entry["mood_scores"] is None
    await asyncio.sleep(1.5)
    async with account.api() as client:
        assert (await client.get(f"/api/journal/{entry['id']}")).json()["mood"] == "pending"

    start_worker()
    tagged = await _tagged(account, entry["id"])
    assert tagged["mood"] in MOODS
    assert set(tagged["mood_scores"]) == MOODS
    assert sum(tagged["mood_scores"].values()) == pytest.approx(1.0, abs=0.01)
    assert tagged["classifier_version"]


async def test_editing_re_tags_and_filters_stats_export_work(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    account = await sign_up(api_url)
    texts = ["i am terrified of tomorrow", "what a wonderful surprise party", "i feel lonely and sad"]
    async with account.api() as client:
        ids = [(await client.post("/api/journal", json={"text": t})).json()["id"] for t in texts]
    entries = [await _tagged(account, i) for i in ids]

    async with account.api() as client:
        edited = (await client.patch(f"/api/journal/{ids[0]}", json={"text": "actually i feel calm and loved"})).json()
        assert edited["mood"] == "pending" and edited["text"] == "actually i feel calm and loved"
        retagged = await _tagged(account, ids[0])
        assert retagged["mood"] in MOODS

        listing = (await client.get("/api/journal", params={"limit": 2})).json()
        assert listing["total"] == 3 and len(listing["items"]) == 2
        assert listing["items"][0]["id"] == ids[-1], "newest first"
        found = (await client.get("/api/journal", params={"q": "surprise"})).json()
        assert [e["id"] for e in found["items"]] == [ids[1]]
        mood = entries[2]["mood"]
        by_mood = (await client.get("/api/journal", params={"mood": mood})).json()
        assert ids[2] in [e["id"] for e in by_mood["items"]] and all(e["mood"] == mood for e in by_mood["items"])
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        assert (await client.get("/api/journal", params={"since": tomorrow})).json()["total"] == 0

        stats = (await client.get("/api/journal/stats", params={"bucket": "day"})).json()
        assert sum(stats["totals"].values()) == 3
        assert sum(stats["buckets"][-1]["counts"].values()) == 3
        weekly = (await client.get("/api/journal/stats", params={"bucket": "week"})).json()
        assert len(weekly["buckets"]) == 1

        exported = await client.get("/api/journal/export", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert exported.headers["content-type"].startswith("text/csv")
        assert {int(r["id"]) for r in rows} == set(ids) and "score_joy" in rows[0]
        as_json = (await client.get("/api/journal/export", params={"format": "json"})).json()
        assert {e["id"] for e in as_json} == set(ids)

        assert (await client.delete(f"/api/journal/{ids[1]}")).status_code == 204
        assert (await client.get(f"/api/journal/{ids[1]}")).status_code == 404


async def test_entries_are_private(api_url: str) -> None:
    owner = await sign_up(api_url)
    other = await sign_up(api_url)
    async with owner.api() as client:
        entry_id = (await client.post("/api/journal", json={"text": "private thoughts"})).json()["id"]
    async with other.api() as client:
        assert (await client.get(f"/api/journal/{entry_id}")).status_code == 404
        assert (await client.patch(f"/api/journal/{entry_id}", json={"text": "mine now"})).status_code == 404
        assert (await client.delete(f"/api/journal/{entry_id}")).status_code == 404
        assert (await client.get("/api/journal")).json()["total"] == 0
    async with owner.api() as client:
        assert (await client.post("/api/journal", json={"text": ""})).status_code == 422
        assert (await client.post("/api/journal", json={"text": "x" * 10_001})).status_code == 422


async def test_admin_re_tags_every_entry_with_visible_progress(api_url: str, stack_env, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    account = await sign_up(api_url)
    async with account.api() as client:
        for text in ("i am so angry", "i love my family"):
            await client.post("/api/journal", json={"text": text})
    admin = await make_admin(api_url, stack_env)
    async with admin.api() as client:
        deadline = time.monotonic() + 60
        while (
            started := await client.post("/api/admin/journal/retag")
        ).status_code == 409 and time.monotonic() < deadline:
            await asyncio.sleep(1)  # the worker has not reported the classifier yet
        assert started.status_code == 202 and started.json()["total"] >= 2
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            progress = (await client.get("/api/admin/journal/retag")).json()
            if progress["state"] == "done":
                break
            await asyncio.sleep(1)
        assert progress["state"] == "done" and progress["done"] == progress["total"]
        audit = (await client.get("/api/admin/audit")).json()["items"]
        assert any(a["action"] == "journal.retag" for a in audit)
