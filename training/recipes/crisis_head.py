"""Recipe 7: the crisis head, a small MLP over sentence embeddings (worker/safety/head.py).

    attune train crisis-head                       # rebuilds worker/safety/crisis_head.npz
    attune train crisis-head --out /tmp/head       # somewhere else

Trained on every labelled message the project has: the exemplar bank (``crisis_bank.jsonl``,
every category of the suicide-risk taxonomy and the hard look-alikes, English and Spanish),
the plain everyday messages (``everyday.jsonl.gz``) and the burned red-team files
(``tests/redteam/dev.jsonl``, ``heldout.jsonl``, ``heldout_v2..v12.jsonl``: development data now,
docs/safety.md), which count ``redteam_weight`` times. Four classes, the levels. Deterministic:
one seed, full-batch L-BFGS, one thread; the artifact records the sha256 of its training data
and a test rebuilds it from the same embeddings and compares. Choices (hidden size, penalty,
weights) were made by leave-one-file-out cross-validation, ``scripts/crisis_head_cv.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from worker.safety.exemplars import (
    BANK_PATH,
    DEFAULT_ENCODER,
    EVERYDAY_PATH,
    FOLLOWUP,
    LEVELS,
    Exemplar,
    ExemplarMatcher,
    load_bank,
)
from worker.safety.head import HEAD_PATH, CrisisHead
from worker.safety.noise import noisy_copies
from worker.safety.risk import COMBINER_FEATURES

REPO = Path(__file__).resolve().parents[2]
PROMPTS_FILE = "tests/redteam/prompts.jsonl"  # crisis yes/no only: trains the combiner, not the head
REDTEAM_FILES = (
    "tests/redteam/dev.jsonl",
    "tests/redteam/heldout.jsonl",
    "tests/redteam/heldout_v2.jsonl",
    "tests/redteam/heldout_v3.jsonl",
    "tests/redteam/heldout_v4.jsonl",
    "tests/redteam/heldout_v5.jsonl",
    "tests/redteam/heldout_v6.jsonl",
    "tests/redteam/heldout_v7.jsonl",
    "tests/redteam/heldout_v8.jsonl",
    "tests/redteam/heldout_v9.jsonl",
    "tests/redteam/heldout_v10.jsonl",
    "tests/redteam/heldout_v11.jsonl",
    "tests/redteam/heldout_v12.jsonl",
)


@dataclass
class Config:
    out_dir: str = field(default=str(HEAD_PATH.parent), metadata={"help": "where crisis_head.npz is written"})
    hidden: int = field(default=128, metadata={"help": "ReLU units of the hidden layer"})
    alpha: float = field(default=1e-5, metadata={"help": "L2 penalty"})
    max_iter: int = field(default=400, metadata={"help": "L-BFGS iterations"})
    redteam_weight: float = field(
        default=3.0, metadata={"help": "how much one red-team line counts against one bank line"}
    )
    seed: int = field(default=0, metadata={"help": "initialisation seed"})
    combiner_c: float = field(
        default=1.0, metadata={"help": "inverse L2 penalty of the combiner's logistic regression"}
    )
    combiner_fpr: float = field(
        default=0.03, metadata={"help": "the combiner's bar: this share of held-out look-alikes above it"}
    )
    combiner_third_party: bool = field(
        default=True,
        metadata={
            "help": "worry for someone else counts as a line the combiner lets through (its reply is past the bar)"
        },
    )
    redteam_files: tuple[str, ...] = field(
        default=REDTEAM_FILES, metadata={"help": "labelled level files, relative to the repo"}
    )
    encoder: str = field(
        default=DEFAULT_ENCODER, metadata={"help": "sentence encoders: minilm, use-m3, or both joined by +"}
    )


def load_level_file(path: Path) -> list[Exemplar]:
    """A red-team level file (``{"text", "lang", "level", "category"}`` lines) as exemplars."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Exemplar(row["text"], row.get("lang", "en"), row["level"], row["category"])
        for row in rows
        if row["level"] in LEVELS
    ]


def training_set(config: Config) -> tuple[list[Exemplar], np.ndarray]:
    """The exemplars (follow-ups excluded: they are risky only after a crisis) and their weights,
    then a share of them again with a token that is not a word in it (worker/safety/noise.py)."""
    bank = [e for e in load_bank(BANK_PATH) + load_bank(EVERYDAY_PATH) if e.category != FOLLOWUP]
    redteam = [e for name in config.redteam_files for e in load_level_file(REPO / name)]
    exemplars = bank + redteam
    weights = np.concatenate([np.ones(len(bank)), np.full(len(redteam), config.redteam_weight)])
    copies = noisy_copies([e.text for e in exemplars], seed=config.seed)
    noisy = [replace(exemplars[index], text=text) for index, text in copies]
    return exemplars + noisy, np.concatenate([weights, weights[[index for index, _ in copies]]])


def digest(exemplars: list[Exemplar], weights: np.ndarray) -> str:
    payload = json.dumps([[e.text, e.level] for e in exemplars], ensure_ascii=False) + repr(weights.tolist())
    return hashlib.sha256(payload.encode()).hexdigest()


def fit_head(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, config: Config) -> CrisisHead:
    """A one-hidden-layer MLP by weighted softmax cross-entropy, full-batch L-BFGS (deterministic)."""
    import torch

    torch.manual_seed(config.seed)
    torch.set_num_threads(1)
    x = torch.from_numpy(vectors.astype(np.float64))
    y = torch.from_numpy(labels.astype(np.int64))
    w = torch.from_numpy((weights / weights.mean()).astype(np.float64))
    # Each level weighs the same in total, so the few third-party lines are not drowned.
    for level in range(len(LEVELS)):
        mask = y == level
        if mask.any():
            w[mask] *= len(y) / (len(LEVELS) * w[mask].sum())
    hidden = torch.nn.Linear(vectors.shape[1], config.hidden).double()
    output = torch.nn.Linear(config.hidden, len(LEVELS)).double()
    parameters = [*hidden.parameters(), *output.parameters()]
    optimizer = torch.optim.LBFGS(parameters, max_iter=config.max_iter, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = output(torch.relu(hidden(x)))
        loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * w).sum() / w.sum()
        loss = loss + config.alpha * (hidden.weight.square().sum() + output.weight.square().sum())
        loss.backward()
        return loss

    optimizer.step(closure)
    return CrisisHead(
        hidden.weight.detach().numpy().T.astype(np.float32).copy(),
        hidden.bias.detach().numpy().astype(np.float32).copy(),
        output.weight.detach().numpy().T.astype(np.float32).copy(),
        output.bias.detach().numpy().astype(np.float32).copy(),
        {"levels": list(LEVELS)},
    )


def held_out_features(
    matcher: ExemplarMatcher, head: CrisisHead, path: Path, third_party: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The combiner's inputs for each user line of a labelled file, read with ``head`` (which
    never saw the file): once with the line's emotion reading and, where it has one, once without.
    Labelled: does the line need a fixed reply (a crisis; with ``third_party``, worry for someone
    else too, whose how-to-help reply is only reached past the combiner's bar)."""
    from worker.safety import SafetyFilter
    from worker.safety.evaluate import load_prompts

    matcher.head = head
    safety = SafetyFilter(matcher=matcher)
    rows, labels = [], []
    for prompt in load_prompts(path):
        if prompt.target != "user":
            continue
        for emotion in [prompt.emotion, None] if prompt.emotion is not None else [None]:
            features = safety.risk_features(prompt.text, emotion)
            rows.append([features[name] for name in COMBINER_FEATURES])
            labels.append(prompt.crisis or (third_party and prompt.level == "third_party"))
    return np.array(rows), np.array(labels)


def fit_combiner(features: np.ndarray, labels: np.ndarray, config: Config) -> tuple[np.ndarray, float, float]:
    """Logistic regression (weights, bias) and the bar that lets ``combiner_fpr`` of the look-alikes through."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=config.combiner_c, max_iter=5000).fit(features, labels)
    negatives = np.sort(model.predict_proba(features[~labels])[:, 1])[::-1]
    threshold = float(negatives[int(len(negatives) * config.combiner_fpr)]) + 1e-6
    return model.coef_[0].astype(np.float32), float(model.intercept_[0]), threshold


def with_combiner(head: CrisisHead, weights: np.ndarray, bias: float, threshold: float) -> CrisisHead:
    """``head`` with a combiner (``fit_combiner``'s weights, bias and bar) over ``COMBINER_FEATURES``."""
    metadata = {**head.metadata, "combiner_features": list(COMBINER_FEATURES), "combiner_threshold": threshold}
    return CrisisHead(
        head.hidden_weights, head.hidden_bias, head.output_weights, head.output_bias, metadata, weights, bias
    )


def packaged_matcher(encoder: object) -> ExemplarMatcher:
    """The matcher the worker builds (exemplars.default_matcher), without a head yet."""
    from worker.safety.exemplars import CACHE_DIR

    return ExemplarMatcher(load_bank(BANK_PATH) + load_bank(EVERYDAY_PATH), encoder, CACHE_DIR)  # type: ignore[arg-type]


def heads_without_each_file(config: Config, encoder: object) -> dict[str, CrisisHead]:
    """For each red-team file, the head trained on everything else."""

    heads = {}
    for held in config.redteam_files:
        others = tuple(name for name in config.redteam_files if name != held)
        exemplars, weights = training_set(replace(config, redteam_files=others))
        vectors = encoder.encode([e.text for e in exemplars])  # type: ignore[attr-defined]
        heads[held] = fit_head(vectors, np.array([LEVELS.index(e.level) for e in exemplars]), weights, config)
    return heads


class CachedEncoder:
    """The detector's encoders, each text embedded once per process (the folds' training sets are
    subsets of the full one); a large batch of new texts goes through the on-disk cache of the
    bank's embeddings."""

    def __init__(self, spec: str = DEFAULT_ENCODER) -> None:
        from worker.safety.exemplars import load_encoder

        self.spec = spec
        self.base = load_encoder(spec)
        self.path = self.base.path
        self.memo: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        from worker.safety.exemplars import CACHE_DIR, _cached_vectors

        missing = list(dict.fromkeys(text for text in texts if text not in self.memo))
        if len(missing) > 64:
            self.memo.update(zip(missing, _cached_vectors(self.base, missing, CACHE_DIR), strict=True))
        elif missing:
            self.memo.update(zip(missing, self.base.encode(missing), strict=True))
        return np.stack([self.memo[text] for text in texts])


def run(config: Config) -> Path:
    encoder = CachedEncoder(config.encoder)
    exemplars, weights = training_set(config)
    vectors = encoder.encode([e.text for e in exemplars])
    labels = np.array([LEVELS.index(e.level) for e in exemplars])
    head = fit_head(vectors, labels, weights, config)

    # The combiner learns from predictions on lines the head never saw: each red-team file
    # read by the head trained without it, the original red-team file by the final head.
    matcher = packaged_matcher(encoder)
    parts = [
        held_out_features(matcher, held_head, REPO / name, config.combiner_third_party)
        for name, held_head in heads_without_each_file(config, encoder).items()
    ]
    parts.append(held_out_features(matcher, head, REPO / PROMPTS_FILE, config.combiner_third_party))
    features, flagged = np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
    head = with_combiner(head, *fit_combiner(features, flagged, config))
    head.metadata.update(
        {
            "encoder": config.encoder,
            "training_sha256": digest(exemplars, weights),
            "examples": len(exemplars),
            "config": {
                "hidden": config.hidden,
                "alpha": config.alpha,
                "max_iter": config.max_iter,
                "redteam_weight": config.redteam_weight,
                "seed": config.seed,
                "combiner_c": config.combiner_c,
                "combiner_fpr": config.combiner_fpr,
                "redteam_files": list(config.redteam_files),
                "encoder": config.encoder,
            },
            "train_accuracy": float((head.probabilities(vectors).argmax(axis=1) == labels).mean()),
            "combiner_examples": len(flagged),
        }
    )
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / HEAD_PATH.name
    head.save(path)
    return path
