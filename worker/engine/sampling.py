"""Per-request next-token choice: repetition rules, then greedy or temperature / top-k / top-p sampling.

Every request (every row of a batch) carries its own ``SamplingParams`` and its own
``RepetitionGuard``, so rows decoded in one forward pass may use different settings. The guard
applies, in the order of transformers' ``generate``, the repetition penalty of Keskar et al.
(2019) — a logit already used is divided by the penalty when positive, multiplied when
negative — and the no-repeat n-gram rule (a token that would complete an n-gram already seen
is banned). Both look at the reply's own tokens and at ``said_before``: the model's earlier
replies in the conversation, so a follow-up turn cannot copy the previous one. The prompt's
other tokens (template markers, the user's words) are not penalised, which keeps the
end-of-turn token, present after every earlier turn, as likely as the model makes it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from worker.models.base import Decoding

_DEFAULT = Decoding()


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = _DEFAULT.temperature  # 0 means greedy
    top_p: float = _DEFAULT.top_p
    top_k: int = _DEFAULT.top_k  # 0 means no top-k cut
    max_new_tokens: int = _DEFAULT.max_new_tokens
    seed: int | None = None
    suppressed_ids: tuple[int, ...] = ()  # never chosen (e.g. style tokens that only condition a reply)
    repetition_penalty: float = _DEFAULT.repetition_penalty  # 1.0: off
    no_repeat_ngram_size: int = _DEFAULT.no_repeat_ngram_size  # 0: off
    said_before: tuple[tuple[int, ...], ...] = ()  # token ids of earlier replies, one tuple per reply
    end_of_turn_after: int = _DEFAULT.end_of_turn_after  # 0: off
    end_of_turn_factor: float = _DEFAULT.end_of_turn_factor
    min_new_tokens: int = _DEFAULT.min_new_tokens  # 0: off

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0")
        if self.no_repeat_ngram_size < 0:
            raise ValueError("no_repeat_ngram_size must be >= 0")

    @classmethod
    def from_decoding(cls, decoding: Decoding, **extra: object) -> SamplingParams:
        """The engine's settings for a resolved ``Decoding``, plus the per-request ``extra`` (``said_before``, ...)."""
        names = {f.name for f in fields(cls)}
        values = {name: getattr(decoding, name) for name in names if hasattr(decoding, name)}
        return cls(**{**values, **extra})  # type: ignore[arg-type]

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @property
    def guards_repetition(self) -> bool:
        return self.repetition_penalty != 1.0 or self.no_repeat_ngram_size > 0

    @property
    def has_row_rules(self) -> bool:
        return (
            self.guards_repetition
            or (self.end_of_turn_after > 0 and self.end_of_turn_factor > 1)
            or self.min_new_tokens > 0
        )


class RepetitionGuard:
    """One request's row rules: repetition penalty, no-repeat n-grams, end-of-turn decay and minimum length.

    Equivalent, token for token, to transformers' ``RepetitionPenaltyLogitsProcessor``, then
    ``NoRepeatNGramLogitsProcessor``, then ``ExponentialDecayLengthPenalty``, then
    ``MinNewTokensLengthLogitsProcessor`` over the reply's
    tokens (``said_before`` adds earlier replies, each as its own sequence for the n-gram rule),
    at O(1) cost per step instead of a rescan.
    """

    def __init__(
        self,
        penalty: float = 1.0,
        ngram_size: int = 0,
        said_before: tuple[tuple[int, ...], ...] = (),
        end_of_turn: tuple[int, float] | None = None,
        stop_ids: frozenset[int] = frozenset(),
        sentence_end_ids: frozenset[int] | None = None,
        min_new_tokens: int = 0,
    ) -> None:
        # With ``sentence_end_ids`` the end-of-turn boost applies only right after a token that ends a
        # sentence, so a reply never stops mid-sentence; without, it is transformers' rule exactly.
        self.sentence_end_ids = sentence_end_ids
        self.penalty = penalty
        self.ngram_size = ngram_size
        self.end_of_turn = end_of_turn if end_of_turn and end_of_turn[0] > 0 and stop_ids else None
        self.min_new_tokens = min_new_tokens if stop_ids else 0
        self._stop_ids = torch.tensor(sorted(stop_ids)) if stop_ids else None
        self._tokens: list[int] = []
        self._used: set[int] = set()
        self._used_tensor: torch.Tensor | None = None
        self._continuations: dict[tuple[int, ...], set[int]] = {}  # (n-1)-gram -> tokens that followed it
        for earlier in said_before:
            self._used.update(earlier)
            if ngram_size:
                for end in range(ngram_size, len(earlier) + 1):
                    self._remember(tuple(earlier[end - ngram_size : end]))

    @classmethod
    def for_params(
        cls,
        params: SamplingParams,
        stop_ids: frozenset[int] = frozenset(),
        sentence_end_ids: frozenset[int] | None = None,
    ) -> RepetitionGuard | None:
        if not params.has_row_rules:
            return None
        return cls(
            params.repetition_penalty,
            params.no_repeat_ngram_size,
            params.said_before,
            (params.end_of_turn_after, params.end_of_turn_factor),
            stop_ids,
            sentence_end_ids,
            params.min_new_tokens,
        )

    def _remember(self, ngram: tuple[int, ...]) -> None:
        self._continuations.setdefault(ngram[:-1], set()).add(ngram[-1])

    def observe(self, token: int) -> None:
        """Record a token of the reply (not the stop token)."""
        self._tokens.append(token)
        if token not in self._used:
            self._used.add(token)
            self._used_tensor = None
        n = self.ngram_size
        if n and len(self._tokens) >= n:
            self._remember(tuple(self._tokens[-n:]))

    def banned(self) -> set[int]:
        """Tokens that would complete an n-gram already seen."""
        n = self.ngram_size
        if not n or len(self._tokens) < n - 1:
            return set()
        key = tuple(self._tokens[len(self._tokens) - (n - 1) :])
        return self._continuations.get(key, set())

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """Return a penalised copy of one row of logits, shape (vocab,)."""
        if self.penalty != 1.0 and self._used:
            if self._used_tensor is None or self._used_tensor.device != logits.device:
                self._used_tensor = torch.tensor(sorted(self._used), device=logits.device)
            ids = self._used_tensor
            picked = logits.index_select(0, ids)
            picked = torch.where(picked < 0, picked * self.penalty, picked / self.penalty)
            logits = logits.index_copy(0, ids, picked)
        if banned := self.banned():
            logits = logits.index_fill(0, torch.tensor(sorted(banned), device=logits.device), float("-inf"))
        at_sentence_end = self.sentence_end_ids is None or (self._tokens and self._tokens[-1] in self.sentence_end_ids)
        if self.end_of_turn is not None and (past := len(self._tokens) - self.end_of_turn[0]) > 0 and at_sentence_end:
            ids = self._stop_ids.to(logits.device)
            picked = logits.index_select(0, ids)
            logits = logits.index_copy(0, ids, picked + picked.abs() * (self.end_of_turn[1] ** past - 1))
        if len(self._tokens) < self.min_new_tokens:
            logits = logits.index_fill(0, self._stop_ids.to(logits.device), float("-inf"))
        return logits


def sentence_end_ids(tokenizer: object) -> frozenset[int]:
    """Ids of the tokens whose text ends a sentence (". ", "!", "?", "…", with closing quotes)."""
    ends = (".", "!", "?", "\u2026")
    ids = set()
    for token_id in range(len(tokenizer)):  # type: ignore[arg-type]
        text = tokenizer.decode([token_id]).rstrip().rstrip("\"'\u201d\u2019)")  # type: ignore[attr-defined]
        if text.endswith(ends):
            ids.add(token_id)
    return frozenset(ids)


def new_generator(params: SamplingParams, device: str | torch.device) -> torch.Generator | None:
    """A private random stream per request, so one request's seed never depends on its batch mates."""
    if params.greedy:
        return None
    generator = torch.Generator(device=device)
    if params.seed is None:
        generator.seed()
    else:
        generator.manual_seed(params.seed)
    return generator


def choose_next_token(
    logits: torch.Tensor,
    params: SamplingParams,
    generator: torch.Generator | None,
    guard: RepetitionGuard | None = None,
) -> int:
    """Pick the next token from one row of float logits of shape (vocab,)."""
    if params.suppressed_ids:
        logits = logits.index_fill(0, torch.tensor(params.suppressed_ids, device=logits.device), float("-inf"))
    if guard is not None:
        logits = guard.apply(logits)
    if params.greedy:
        return int(torch.argmax(logits))
    scores = logits / params.temperature
    if 0 < params.top_k < scores.numel():
        kth_best = torch.topk(scores, params.top_k).values[-1]
        scores = scores.masked_fill(scores < kth_best, float("-inf"))
    if params.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        # Drop a token when the tokens ranked above it already cover top_p; the best one always stays.
        outside_nucleus = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > params.top_p
        sorted_scores = sorted_scores.masked_fill(outside_nucleus, float("-inf"))
        scores = torch.empty_like(scores).scatter_(0, order, sorted_scores)
    probs = torch.softmax(scores, dim=-1)
    return int(torch.multinomial(probs, num_samples=1, generator=generator))
