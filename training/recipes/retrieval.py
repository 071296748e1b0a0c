"""Recipe 3: the retrieval responder's index over EmpatheticDialogues listener replies.

    attune train retrieval --config training/configs/retrieval/minilm.toml

Every listener reply of the train split becomes an index entry with the speaker utterance it
answered (its context), the conversation's emotion and situation. Replies and contexts are
embedded with MiniLM (optionally fine-tuned first on context -> reply pairs with in-batch
negatives) and saved as float16 ``.npy`` next to ``entries.jsonl.gz``. The run reports P@1,100
on validation as in Rashkin et al. (2019): for each validation context, is its true reply the
best-scored of 100 candidates (it and 99 random other validation replies)?
"""

from __future__ import annotations

import hashlib
import itertools
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attune import build_progress
from training.common.config import load_config
from training.common.paths import configs_dir, expand_placeholders
from training.common.run import Run
from training.data.empathetic import Conversation, load_conversations, split_path
from worker.models.retrieval import (
    DEFAULT_ENCODER,
    INDEX_FORMAT,
    Entry,
    RetrievalIndex,
    SentenceEncoder,
    resolve_encoder_path,
)

DEFAULT_CONFIG = "minilm"
FINETUNED_ENCODER_DIR = "encoder"


@dataclass
class Config:
    out_dir: str = field(default="{home}/models/retrieval", metadata={"help": "where the index is written"})
    seed: int = field(default=13, metadata={"help": "seeds the candidate draw and fine-tuning"})
    encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": "sentence encoder directory ({pkg:NAME} allowed)"})
    max_length: int = field(default=128, metadata={"help": "tokens per text; longer texts are truncated"})
    batch_size: int = field(default=64, metadata={"help": "texts per embedding batch"})
    listener_turns: str = field(
        default="all",
        metadata={
            "help": "first: only each conversation's first listener "
            "reply (the answer to the speaker's opening); all: "
            "every listener reply"
        },
    )
    train_conversations: int | None = field(
        default=None, metadata={"help": "index only the first N train conversations (None: all)"}
    )
    eval_conversations: int | None = field(
        default=None, metadata={"help": "evaluate on the first N validation conversations (None: all, 0: skip)"}
    )
    eval_candidates: int = field(default=100, metadata={"help": "candidates per context for P@1,N"})
    finetune: bool = field(default=False, metadata={"help": "fine-tune the encoder on context -> reply pairs first"})
    finetune_pairs: int | None = field(default=None, metadata={"help": "use at most N train pairs for fine-tuning"})
    epochs: int = field(default=1, metadata={"help": "fine-tuning epochs"})
    lr: float = field(default=2e-5, metadata={"help": "fine-tuning learning rate (AdamW, linear warmup/decay)"})
    train_batch_size: int = field(
        default=32, metadata={"help": "pairs per step; the others in a batch are the negatives"}
    )
    scale: float = field(default=20.0, metadata={"help": "cosine-similarity scale inside the softmax"})
    log_every: int = field(default=20, metadata={"help": "fine-tuning steps between loss logs"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


def listener_entries(conversations: list[Conversation], listener_turns: str = "all") -> list[Entry]:
    """Listener turns that answer a speaker turn, with that speaker turn as their context.

    ``listener_turns="first"`` keeps only the reply to each conversation's opening.
    """
    if listener_turns not in ("first", "all"):
        raise ValueError(f"listener_turns must be 'first' or 'all', not {listener_turns!r}")
    entries = []
    for conversation in conversations:
        for previous, turn in itertools.pairwise(conversation.turns):
            if turn.role == "listener" and previous.role == "speaker" and turn.text.strip():
                entries.append(
                    Entry(
                        reply=turn.text.strip(),
                        context=previous.text.strip(),
                        emotion=conversation.emotion,
                        situation=conversation.situation.strip(),
                        conv_id=conversation.conv_id,
                    )
                )
                if listener_turns == "first":
                    break
    return entries


def encode_unique(
    encoder: SentenceEncoder,
    texts: list[str],
    config: Config,
    what: str,
    step: tuple[int, int],
    weights: Sequence[int] = (),
) -> np.ndarray:
    """Embed each distinct text once (short replies such as "That's great!" recur hundreds of times).

    ``what`` and ``step`` (n of N) label the progress bar, so the next bar's 0 % does not look
    like the build starting over; ``weights`` (each pass's share, default equal) turn the pass's
    batches into the whole build's progress (``attune.build_progress``).
    """
    unique = list(dict.fromkeys(texts))
    label = f"embedding {len(unique):,} {what} ({step[0]}/{step[1]})"
    weights = list(weights) or [1] * step[1]
    done_before, weight = sum(weights[: step[0] - 1]), weights[step[0] - 1]

    def on_batch(share: float) -> None:
        build_progress.report((done_before + weight * share) / sum(weights), label)

    vectors = encoder.encode(
        unique, batch_size=config.batch_size, progress=config.progress, label=label, on_batch=on_batch
    )
    position = {text: i for i, text in enumerate(unique)}
    return vectors[[position[text] for text in texts]]


def precision_at_1(contexts: np.ndarray, replies: np.ndarray, candidates: int, seed: int) -> float:
    """P@1,N: the share of contexts whose own reply outscores N-1 random other replies."""
    count = len(contexts)
    if count < candidates:
        raise ValueError(f"P@1,{candidates} needs at least {candidates} pairs, got {count}")
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(count):
        others = rng.choice(count - 1, size=candidates - 1, replace=False)
        others = others + (others >= i)  # skip i itself
        true_score = contexts[i] @ replies[i]
        hits += bool(true_score > (replies[others] @ contexts[i]).max())
    return hits / count


def finetune(encoder: SentenceEncoder, entries: list[Entry], config: Config, run: Run) -> None:
    """In-batch negatives: each context must pick its own reply among the batch's replies (both directions)."""
    import torch
    from tqdm import tqdm

    pairs = [(entry.context, entry.reply) for entry in entries]
    random.Random(config.seed).shuffle(pairs)
    pairs = pairs[: config.finetune_pairs] if config.finetune_pairs else pairs
    steps_per_epoch = len(pairs) // config.train_batch_size
    total_steps = steps_per_epoch * config.epochs
    if total_steps == 0:
        raise ValueError(f"{len(pairs)} pairs do not fill one batch of {config.train_batch_size}")
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=config.lr)
    warmup = max(1, total_steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup + 1)))
    )
    encoder.model.train()
    step, running = 0, []
    with tqdm(total=total_steps, desc="fine-tuning", unit="step", disable=not config.progress) as bar:
        for epoch in range(config.epochs):
            random.Random(config.seed + epoch).shuffle(pairs)
            for start in range(0, steps_per_epoch * config.train_batch_size, config.train_batch_size):
                batch = pairs[start : start + config.train_batch_size]
                contexts = encoder.embed(encoder.tokenize([c for c, _ in batch]))
                replies = encoder.embed(encoder.tokenize([r for _, r in batch]))
                logits = config.scale * contexts @ replies.T
                targets = torch.arange(len(batch), device=logits.device)
                loss = (
                    torch.nn.functional.cross_entropy(logits, targets)
                    + torch.nn.functional.cross_entropy(logits.T, targets)
                ) / 2
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                step += 1
                running.append(loss.item())
                if step % config.log_every == 0 or step == total_steps:
                    run.log("train", step, loss=sum(running) / len(running), lr=schedule.get_last_lr()[0])
                    running = []
                bar.update()
    encoder.model.eval()


def embedding_steps(config: Config) -> int:
    """How many embedding passes a build makes: validation contexts and replies, then the index's."""
    return 2 if config.eval_conversations == 0 else 4


def pass_weights(config: Config, entries: int) -> list[int]:
    """Each embedding pass's rough share of the build, in texts: the validation passes embed
    about one text per validation conversation, the index's two passes one per train entry."""
    return [config.eval_conversations] * (embedding_steps(config) - 2) + [entries, entries]


def evaluate(encoder: SentenceEncoder, config: Config, weights: Sequence[int] = ()) -> dict[str, float]:
    if config.eval_conversations == 0:
        return {}
    total = embedding_steps(config)
    entries = listener_entries(load_conversations("valid", config.eval_conversations))
    contexts = encode_unique(
        encoder, [entry.context for entry in entries], config, "validation contexts", (1, total), weights
    )
    replies = encode_unique(
        encoder, [entry.reply for entry in entries], config, "validation replies", (2, total), weights
    )
    candidates = min(config.eval_candidates, len(entries))
    score = precision_at_1(contexts, replies, candidates, config.seed)
    return {f"p_at_1_{candidates}": round(100 * score, 2), "eval_pairs": len(entries)}


def run(config: Config) -> Path:
    import torch

    out_dir = Path(expand_placeholders(config.out_dir))
    data_files = [split_path("train"), split_path("valid"), split_path("train").parent / "emotions.txt"]
    tracker = Run.start(out_dir, config, data_files=data_files, seed=config.seed)
    entries = listener_entries(load_conversations("train", config.train_conversations), config.listener_turns)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    # A package placeholder stays in the index (portable); any other path is stored absolute.
    encoder_reference = (
        config.encoder
        if config.encoder.startswith("{pkg:")
        else str(Path(expand_placeholders(config.encoder)).resolve())
    )
    encoder = SentenceEncoder(resolve_encoder_path(encoder_reference, out_dir), device, config.max_length)
    if config.finetune:
        finetune(encoder, entries, config, tracker)
        encoder.model.save_pretrained(out_dir / FINETUNED_ENCODER_DIR)
        encoder.tokenizer.save_pretrained(out_dir / FINETUNED_ENCODER_DIR)
        encoder_reference = FINETUNED_ENCODER_DIR
    weights = pass_weights(config, len(entries))
    metrics = evaluate(encoder, config, weights)
    if metrics:
        tracker.log("eval", 0, **metrics)
    total = embedding_steps(config)
    reply_vectors = encode_unique(
        encoder, [entry.reply for entry in entries], config, "listener replies", (total - 1, total), weights
    )
    context_vectors = encode_unique(
        encoder, [entry.context for entry in entries], config, "speaker turns", (total, total), weights
    )
    fingerprint = hashlib.sha256(reply_vectors.astype(np.float16).tobytes()).hexdigest()[:12]
    info = {
        "format": INDEX_FORMAT,
        "encoder": encoder_reference,
        "max_length": config.max_length,
        "count": len(entries),
        "dim": int(reply_vectors.shape[1]),
        "fingerprint": fingerprint,
    }
    RetrievalIndex(entries, reply_vectors, context_vectors, info).save(out_dir)
    summary = {**metrics, "entries": len(entries), "finetuned": config.finetune}
    tracker.finish(summary)
    tracker.write_model_card(_model_card(config, summary))
    return out_dir


def ensure_index(home: Path, progress: bool = True) -> Path:
    """``<home>/models/retrieval``, built with the default config on first use (a few minutes on a laptop CPU).

    Built beside it and renamed into place when complete: the worker takes a present directory
    for a finished model, and the service may be running while this builds."""
    directory = home / "models" / "retrieval"
    if (directory / "index.json").is_file():
        return directory
    print(
        f"First run: building the retrieval responder's index in {directory} (MiniLM embeddings of "
        "EmpatheticDialogues listener replies, once, a few minutes on a CPU).",
        flush=True,
    )
    building = directory.with_name(f".{directory.name}.building")
    if building.exists():  # an interrupted build: embeddings are not checkpointed, start over
        shutil.rmtree(building)
    config = load_config(
        Config,
        configs_dir("retrieval") / f"{DEFAULT_CONFIG}.toml",
        [f"out_dir={building}", f"progress={str(progress).lower()}"],
    )
    run(config)
    if directory.exists():
        shutil.rmtree(directory)
    building.rename(directory)
    return directory


def _model_card(config: Config, summary: dict[str, object]) -> str:
    p_at_1 = next(
        (f"{k.replace('p_at_1_', 'P@1,')}: {v}%" for k, v in summary.items() if k.startswith("p_at_1_")),
        "not evaluated",
    )
    encoder = (
        "MiniLM fine-tuned on context -> reply pairs (in-batch negatives)"
        if config.finetune
        else "all-MiniLM-L6-v2 as released"
    )
    return f"""# Retrieval responder index

{summary["entries"]} EmpatheticDialogues (Rashkin et al. 2019, CC BY-NC 4.0) train listener replies, each with
the speaker utterance it answered, the conversation emotion (32 labels) and situation.

- Encoder: {encoder}; mean pooling, unit vectors, float16 on disk.
- Validation {p_at_1} (true reply vs 99 random validation replies; the paper reports 65.9 for fine-tuned BERT).
- Served by `worker.models.retrieval.RetrievalResponder` (kind `retrieval`).
- Non-commercial use only, as the dataset's license requires.
"""
