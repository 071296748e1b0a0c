"""EQ-Bench v2: the prompt, the answer parser, the fullscale scorer, and the harness on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.eval import eqbench
from training.eval.eqbench import benchmark, load_questions, parse_scores, question_score, without_revision

EMOTIONS = ["Liberated", "Offended", "Uninterested", "Defensive"]
REFERENCE = {"Liberated": 0.0, "Offended": 7.0, "Uninterested": 0.0, "Defensive": 9.0}


def test_the_shipped_sample_has_15_questions_with_numeric_fullscale_keys() -> None:
    questions = load_questions(eqbench.DEFAULT_QUESTIONS)
    assert len(questions) == 15
    for question in questions:
        assert len(question.reference) == 4
        assert all(isinstance(score, float) and 0 <= score <= 10 for score in question.reference.values())


def test_prompts_ask_for_one_set_of_scores_only() -> None:
    for question in load_questions(eqbench.DEFAULT_QUESTIONS):
        prompt = without_revision(question.prompt)
        assert "Critique" not in prompt and "Revised scores" not in prompt and "First pass" not in prompt
        for emotion in question.reference:
            assert f"{emotion}: <score>" in prompt
        assert prompt.rstrip().endswith("at least one emotion > 0.")


def test_parser_reads_plain_and_markdown_answers() -> None:
    plain = "Liberated: 0\nOffended: 7\nUninterested: 0\nDefensive: 9"
    markdown = "Sure!\n**Liberated**: 0\n- **offended**: 7\n* Uninterested : 0\n* Defensive:9.5\n"
    assert parse_scores(plain, EMOTIONS) == REFERENCE
    assert parse_scores(markdown, EMOTIONS) == {**REFERENCE, "Defensive": 9.5}


@pytest.mark.parametrize(
    "answer",
    [
        "I think Elise feels defensive and offended.",  # no scores
        "Liberated: 0\nOffended: 7\nDefensive: 9",  # one missing
        "Liberated: 0\nOffended: 7\nUninterested: 0\nDefensive: 9\nAngry: 3",  # a fifth pair
        "Liberated: 0\nOffended: 7\nBored: 0\nDefensive: 9",  # a wrong name
        "Liberated: 0\nOffended: 7\nOffended: 0\nDefensive: 9",  # a repeated name
    ],
)
def test_parser_rejects_answers_the_benchmark_would_not_score(answer: str) -> None:
    assert parse_scores(answer, EMOTIONS) is None


def test_fullscale_scorer_matches_hand_computed_values() -> None:
    assert question_score(REFERENCE, REFERENCE) == 10
    # d = 4 on one emotion: the S-curve's midpoint, 6.5 / 2.
    assert question_score({**REFERENCE, "Offended": 3.0}, REFERENCE) == pytest.approx(10 - 0.7477 * 3.25)
    # d > 5 counts linearly: 9 and 7 off.
    assert question_score({**REFERENCE, "Defensive": 0.0, "Liberated": 7.0}, REFERENCE) == pytest.approx(
        10 - 0.7477 * 16
    )
    assert question_score({"Liberated": 10, "Offended": 0, "Uninterested": 10, "Defensive": 0}, REFERENCE) < 0


def test_benchmark_is_100_for_perfect_answers_and_counts_unparseable_ones() -> None:
    questions = load_questions(eqbench.DEFAULT_QUESTIONS, limit=3)
    perfect = ["\n".join(f"{emotion}: {int(score)}" for emotion, score in q.reference.items()) for q in questions]
    assert benchmark(perfect, questions) == {
        "questions": 3,
        "parseable": 3,
        "parse_rate": 1.0,
        "eqbench_v2_score": 100.0,
    }
    mixed = benchmark([perfect[0], "no idea", ""], questions)
    assert mixed["parseable"] == 1 and mixed["parse_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert mixed["eqbench_v2_score"] == 100.0
    assert benchmark(["no idea"] * 3, questions)["eqbench_v2_score"] is None


def test_harness_runs_end_to_end_on_a_registry_model(tiny_llama_dir: Path, tmp_path: Path) -> None:
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
        "2",
        "--max-new-tokens",
        "8",
        "--out",
        str(out),
    ]
    assert eqbench.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["questions"] == 2
    assert 0 <= metrics["parse_rate"] <= 1 and metrics["parseable"] == round(2 * metrics["parse_rate"])
    assert len((out / "answers.jsonl").read_text().splitlines()) == 2
