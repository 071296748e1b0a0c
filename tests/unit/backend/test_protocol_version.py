"""The client protocol has one version: the backend's PROTOCOL_VERSION, which docs/protocol.md and
the front end's protocol.ts state, and which is not the backend <-> worker contract's version."""

import re
from pathlib import Path

from attune import contract
from backend.schemas import PROTOCOL_VERSION

REPO = Path(__file__).resolve().parents[3]


def test_the_document_and_the_front_end_speak_the_backends_protocol_version() -> None:
    doc = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    client = (REPO / "frontend" / "src" / "lib" / "protocol.ts").read_text(encoding="utf-8")

    assert re.search(r"^# Attune client protocol \(version (\d+)\)", doc).group(1) == str(PROTOCOL_VERSION)
    assert re.search(r'"protocol": (\d+)', doc).group(1) == str(PROTOCOL_VERSION)  # the ready frame
    assert re.search(r"export const PROTOCOL_VERSION = (\d+);", client).group(1) == str(PROTOCOL_VERSION)


def test_the_worker_contract_has_its_own_version_under_another_name() -> None:
    assert not hasattr(contract, "PROTOCOL_VERSION")
    assert contract.GenerateJob(session_id="s", model="m", history=[]).version == contract.CONTRACT_VERSION
