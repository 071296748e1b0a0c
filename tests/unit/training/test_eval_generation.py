"""BLEU / ROUGE-L on hand-checkable examples, and `attune eval generation` on a tiny registry model."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from training.eval import generation
from training.eval.text_metrics import corpus_bleu, distinct_n, loops, mean_rouge_l, rouge_l, tokenize

SENTENCE = "I am so sorry to hear that, it must have been scary."


def test_tokenize_splits_words_and_punctuation_and_keeps_contractions() -> None:
    assert tokenize("Don't worry, it's OK!") == ["don't", "worry", ",", "it's", "ok", "!"]


def test_bleu_is_sacrebleu_corpus_bleu_on_a_0_to_100_scale() -> None:
    assert corpus_bleu([SENTENCE], [SENTENCE]) == pytest.approx(100.0)
    assert corpus_bleu(["apples and pears"], ["cars drive fast"]) == pytest.approx(0.0)
    assert corpus_bleu([], []) == 0.0
    with pytest.raises(ValueError):
        corpus_bleu(["a"], [])


def test_distinct_n_counts_unique_ngrams_over_the_corpus() -> None:
    # unigrams: i, am, ok, i, am -> 3 unique of 5; bigrams: "i am", "am ok", "i am" -> 2 of 3
    assert distinct_n(["I am ok", "I am"], 1) == pytest.approx(3 / 5)
    assert distinct_n(["I am ok", "I am"], 2) == pytest.approx(2 / 3)
    assert distinct_n([""], 2) == 0.0


def test_a_reply_loops_on_a_thrice_repeated_4gram_or_a_repeated_sentence() -> None:
    assert not loops("I'm so sorry to hear that. How are you holding up?")
    assert loops("I'm so sorry. That sounds hard. I'm so sorry!")
    assert loops("you are so brave and you are so brave and you are so brave and kind")
    assert not loops("you are so brave and you are so brave, truly")  # a 4-gram twice is not a loop yet


def test_rouge_l_by_hand() -> None:
    assert rouge_l(SENTENCE, SENTENCE) == pytest.approx(1.0)
    assert rouge_l("apples and pears", "cars drive fast") == 0.0
    # LCS "the sat" = 2: precision 2/3, recall 2/4, F = 2 * (2/3 * 1/2) / (2/3 + 1/2) = 4/7.
    assert rouge_l("the dog sat", "the cat sat down") == pytest.approx(4 / 7)
    assert mean_rouge_l([SENTENCE, "x"], [SENTENCE, "y"]) == pytest.approx(0.5)


def test_esconv_exchanges_are_held_out_mid_dialogue_turns_with_history() -> None:
    exchanges = generation.esconv_exchanges("valid", 5)
    assert len(exchanges) == 5
    for exchange in exchanges:
        roles = [role for role, _ in exchange.history]
        assert roles[0] == "user" and roles[-1] == "user" and len(roles) >= 2
        assert all(a != b for a, b in itertools.pairwise(roles))  # alternating, as the chat template needs
        assert exchange.reference and exchange.strategy in generation.esconv.STRATEGIES
    dev = generation.esconv_exchanges("dev", 3)
    assert not {e.reference for e in dev} & {e.reference for e in generation.esconv_exchanges("valid")}


def test_ed_dev_openings_come_from_train_not_valid() -> None:
    dev, valid = generation.ed_openings("dev", 5), generation.ed_openings("valid", 5)
    assert len(dev) == len(valid) == 5 and all(e.emotion for e in dev)
    assert not {e.conv_id for e in dev} & {e.conv_id for e in valid}


def test_eval_generation_writes_one_table_for_several_models(tiny_llama_dir: Path, tmp_path: Path) -> None:
    models_file = tmp_path / "models.toml"
    models_file.write_text(
        f'[models.tiny]\nkind = "causal_lm"\nweights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.0, max_new_tokens = 6 }\n"
        f'[models.tiny-penalised]\nkind = "causal_lm"\nweights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.7, max_new_tokens = 6, repetition_penalty = 1.3, no_repeat_ngram_size = 3 }\n"
    )
    out = tmp_path / "out"
    argv = [
        "--model",
        "tiny",
        "--model",
        "tiny-penalised",
        "--models-file",
        str(models_file),
        "--home",
        str(tmp_path / "home"),
        "--ed-limit",
        "3",
        "--esconv-limit",
        "2",
        "--out",
        str(out),
    ]
    assert generation.main(argv) == 0
    table = (out / "table.txt").read_text().splitlines()
    assert table[0].split()[:3] == ["model", "dataset", "n"] and len(table) == 5
    metrics = json.loads((out / "tiny-penalised" / "metrics.json").read_text())
    assert metrics["decoding"]["repetition_penalty"] == 1.3
    ed, conv = metrics["datasets"]["ed_valid"], metrics["datasets"]["esconv_valid"]
    assert ed["examples"] == 3 and conv["examples"] == 2
    assert 0 <= ed["bleu4"] <= 100 and 0 <= ed["rouge_l_f"] <= 1 and 0 <= ed["loop_rate"] <= 1
    # Six tokens of a random model never reach a stop token: every reply hits the limit.
    assert ed["length_limit_rate"] == 1.0
    # A random model over a 49k vocabulary: perplexity of real replies is large but finite.
    assert 1 < ed["reference_perplexity"] < 1e7
    assert ed["emotion_head_accuracy"] is None and ed["emotion_alignment"] is None  # no heads, no classifier
    replies = [json.loads(line) for line in (out / "tiny" / "replies.jsonl").read_text().splitlines()]
    assert len(replies) == 5 and all(row["reference"] for row in replies)
    assert len(replies[-1]["history"]) >= 2  # ESConv replies answer the dialogue so far


def test_seq2seq_reference_perplexity_scores_the_decoder_on_the_reply(tiny_t5_dir: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from attune.contract import ChatTurn
    from worker.models.base import GenerationRequest, LoadContext, ModelSpec
    from worker.models.seq2seq import Seq2SeqLM

    model = Seq2SeqLM(ModelSpec(name="t5", kind="seq2seq", weights=str(tiny_t5_dir)), LoadContext(home=tmp_path))
    model.load()
    request = GenerationRequest(request_id="p", history=[ChatTurn(role="user", content="My dog died.")])
    try:
        perplexity = generation.reference_perplexity(model, [request], ["I am so sorry."])
        prompt = model.prompt_ids(request, 8)
    finally:
        model.unload()
    tokenizer = AutoTokenizer.from_pretrained(tiny_t5_dir)
    network = AutoModelForSeq2SeqLM.from_pretrained(tiny_t5_dir).eval()
    labels = tokenizer("I am so sorry.", add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        loss = network(input_ids=torch.tensor([prompt]), labels=labels).loss.item()
    assert perplexity == pytest.approx(math.exp(loss), rel=1e-4)


def test_heads_only_scores_the_heads_on_every_row_without_generating(tiny_qwen2_dir: Path, tmp_path: Path) -> None:
    from tests.support.heads_artifact import build_heads_artifact

    artifact = build_heads_artifact(tiny_qwen2_dir, tmp_path / "heads-artifact")
    models_file = tmp_path / "models.toml"
    models_file.write_text(
        f'[models.heads]\nkind = "qwen_heads"\nweights = "{tiny_qwen2_dir}"\nadapter = "{artifact}"\n'
        'quantization = "none"\n'
    )
    out = tmp_path / "out"
    argv = ["--model", "heads", "--models-file", str(models_file), "--home", str(tmp_path / "home")]
    assert generation.main([*argv, "--heads-only", "--ed-limit", "6", "--esconv-limit", "3", "--out", str(out)]) == 0
    metrics = json.loads((out / "heads" / "metrics.json").read_text())
    ed, conv = metrics["datasets"]["ed_valid"], metrics["datasets"]["esconv_valid"]
    assert ed["examples"] == 6 and 0 <= ed["emotion_head_accuracy"] <= 1 and ed["strategy_head_accuracy"] is None
    assert conv["examples"] == 3 and 0 <= conv["strategy_head_accuracy"] <= 1
    assert "rouge_l_f" not in ed and not (out / "heads" / "replies.jsonl").read_text()
