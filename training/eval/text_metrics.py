"""Text metrics of generated replies: corpus BLEU-4 (sacrebleu), ROUGE-L F, distinct-n, loops.

ROUGE-L, distinct-n and the loop test lower-case and split text into words and punctuation
marks (``tokenize``), so scores do not depend on any model's tokenizer and are comparable
across models; BLEU is sacrebleu's own, so it is comparable with published numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (keeping contractions such as "don't") and single punctuation marks."""
    return _TOKEN.findall(text.lower())


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 from ``sacrebleu`` (13a tokenisation, exponential smoothing, 0-100), one
    reference per hypothesis: the number papers on EmpatheticDialogues and ESConv report."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        return 0.0
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct-n (Li et al. 2016): unique n-grams over all n-grams of all texts, in [0, 1]."""
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        grams.update(_ngrams(tokenize(text), n))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


_SENTENCE = re.compile(r"[^.!?\n]+")
LOOP_NGRAM, LOOP_NGRAM_COUNT = 4, 3


def loops(text: str) -> bool:
    """A reply loops when some word 4-gram occurs 3+ times or some sentence occurs twice."""
    words = [token for token in tokenize(text) if re.match(r"\w", token)]
    if any(count >= LOOP_NGRAM_COUNT for count in _ngrams(words, LOOP_NGRAM).values()):
        return True
    sentences = [" ".join(tokenize(sentence)) for sentence in _SENTENCE.findall(text)]
    sentences = [sentence for sentence in sentences if sentence]
    return len(sentences) != len(set(sentences))


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004): the harmonic mean of LCS precision and recall, in [0, 1]."""
    hyp, ref = tokenize(hypothesis), tokenize(reference)
    common = _lcs_length(hyp, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def mean_rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """ROUGE-L F averaged over hypothesis/reference pairs."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        return 0.0
    return sum(rouge_l(h, r) for h, r in zip(hypotheses, references)) / len(hypotheses)
