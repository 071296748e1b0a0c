"""BLEU / ROUGE-L on hand-checkable examples, and `attune eval generation` on a tiny registry model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from training.eval import generation
from training.eval.text_metrics import corpus_bleu, mean_rouge_l, rouge_l, tokenize

SENTENCE = "I am so sorry to hear that, it must have been scary."


def test_tokenize_splits_words_and_punctuation_and_keeps_contractions() -> None:
    assert tokenize("Don't worry, it's OK!") == ["don't", "worry", ",", "it's", "ok", "!"]


def test_bleu_is_one_for_identical_and_zero_for_disjoint_text() -> None:
    assert corpus_bleu([SENTENCE], [SENTENCE]) == pytest.approx(1.0)
    assert corpus_bleu(["apples and pears"], ["cars drive fast"]) == 0.0
    assert corpus_bleu([""], [SENTENCE]) == 0.0


def test_bleu_by_hand_with_smoothing_and_brevity_penalty() -> None:
    # Every n-gram matches (orders above 1 are add-one smoothed: 3/3, 2/2, and 1/1 for the absent
    # 4-gram); the hypothesis is 3 tokens against 4, so only the brevity penalty exp(1 - 4/3) is left.
    assert corpus_bleu(["the cat sat"], ["the cat sat down"]) == pytest.approx(math.exp(1 - 4 / 3))
    # Longer hypotheses get no brevity penalty: unigrams 4/5, then smoothed bigrams (3+1)/(4+1),
    # trigrams (2+1)/(3+1) and 4-grams (1+1)/(2+1).
    expected = (4 / 5 * 4 / 5 * 3 / 4 * 2 / 3) ** 0.25
    assert corpus_bleu(["the cat sat down today"], ["the cat sat down"]) == pytest.approx(expected)


def test_rouge_l_by_hand() -> None:
    assert rouge_l(SENTENCE, SENTENCE) == pytest.approx(1.0)
    assert rouge_l("apples and pears", "cars drive fast") == 0.0
    # LCS "the sat" = 2: precision 2/3, recall 2/4, F = 2 * (2/3 * 1/2) / (2/3 + 1/2) = 4/7.
    assert rouge_l("the dog sat", "the cat sat down") == pytest.approx(4 / 7)
    assert mean_rouge_l([SENTENCE, "x"], [SENTENCE, "y"]) == pytest.approx(0.5)


def test_eval_generation_writes_metrics_in_range(tiny_llama_dir: Path, tmp_path: Path) -> None:
    models_file = tmp_path / "models.toml"
    models_file.write_text(f'[models.tiny]\nkind = "causal_lm"\nweights = "{tiny_llama_dir}"\n')
    out = tmp_path / "out"
    argv = [
        "--model",
        "tiny",
        "--models-file",
        str(models_file),
        "--home",
        str(tmp_path / "home"),
        "--limit",
        "3",
        "--max-new-tokens",
        "6",
        "--out",
        str(out),
    ]
    assert generation.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "tiny" and metrics["examples"] == 3
    assert 0 <= metrics["bleu4"] <= 1 and 0 <= metrics["rouge_l_f"] <= 1
    # A random model over a 49k vocabulary: perplexity of real replies is large but finite.
    assert 1 < metrics["reference_perplexity"] < 1e7
    replies = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    assert len(replies) == 3 and all(row["reference"] for row in replies)
