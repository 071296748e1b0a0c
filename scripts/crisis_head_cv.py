"""Leave-one-file-out cross-validation of the crisis detector over the burned red-team files.

    python scripts/crisis_head_cv.py [--wrong] [--baseline] [--add FILE] [--fpr 0.03 --fpr 0.04]

For each burned red-team file (``Config.redteam_files``: tests/redteam/dev.jsonl, heldout.jsonl and
heldout_v2..v12.jsonl): the head is trained on the bank, the everyday messages and the other files;
the combiner on the other files' held-out
features (each read by the head trained without it, so that head did see the held-out file:
a mild leak into the combiner's dozen weights, none into the head that reads the file); then
the file goes through ``SafetyFilter.check_user`` exactly as the worker calls it, with its
emotion reading and without. ``--fpr``: the combiner's bar at other shares of look-alikes too
(each fold's combiner refitted at each, the files read with the emotion reading), to choose
``Config.combiner_fpr`` by what it costs in recall. ``--baseline``: the same files through the detector without the
head and combiner (the previous thresholds; its bank and rules were tuned on these files).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training.recipes.crisis_head import (
    CachedEncoder,
    Config,
    fit_combiner,
    heads_without_each_file,
    held_out_features,
    packaged_matcher,
    with_combiner,
)
from worker.safety import SafetyFilter, risk
from worker.safety.evaluate import Report, evaluate, load_prompts, print_report


def pooled(reports: list[Report]) -> str:
    caught = sum(r.overall.caught for r in reports)
    positives = sum(r.overall.positives for r in reports)
    alarms = sum(r.overall.false_alarms for r in reports)
    negatives = sum(r.overall.negatives for r in reports)
    helped = sum(r.third_party.caught for r in reports)
    worried = sum(r.third_party.positives for r in reports)
    misplaced = sum(r.third_party.false_alarms for r in reports)
    return (
        f"recall {caught}/{positives} = {caught / positives:.3f}, FPR {alarms}/{negatives} = {alarms / negatives:.3f}; "
        f"third party -> how-to-help {helped}/{worried}, look-alikes -> how-to-help {misplaced}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrong", action="store_true", help="list the ids each category gets wrong")
    parser.add_argument("--baseline", action="store_true", help="also the detector without head and combiner")
    parser.add_argument("--encoder", default=Config.encoder, help="minilm, use-m3 or both joined by +")
    parser.add_argument("--add", action="append", default=[], help="another labelled file to hold out in turn")
    parser.add_argument(
        "--fpr", action="append", type=float, default=[], help="also the combiner's bar at this look-alike share"
    )
    parser.add_argument(
        "--third-party-negative",
        action="store_true",
        help="the combiner as before the eleventh freeze: worry for someone else is a look-alike it learns to hold back",
    )
    parser.add_argument(
        "--veto", action="append", type=float, default=[], help="also RULE_VETO_FACTOR at this value (risk.py)"
    )
    args = parser.parse_args()

    config = Config(
        encoder=args.encoder,
        redteam_files=(*Config.redteam_files, *args.add),
        combiner_third_party=not args.third_party_negative,
    )
    encoder = CachedEncoder(config.encoder)
    matcher = packaged_matcher(encoder)
    heads = heads_without_each_file(config, encoder)
    features = {
        name: held_out_features(matcher, head, REPO / name, config.combiner_third_party) for name, head in heads.items()
    }
    reports: dict[bool, list[Report]] = {True: [], False: []}
    by_bar: dict[float, list[Report]] = {share: [] for share in args.fpr}
    by_veto: dict[float, list[Report]] = {factor: [] for factor in args.veto}
    for held, head in heads.items():
        x = np.concatenate([features[name][0] for name in heads if name != held])
        y = np.concatenate([features[name][1] for name in heads if name != held])
        prompts = load_prompts(REPO / held)
        for share in args.fpr:
            matcher.head = with_combiner(head, *fit_combiner(x, y, replace(config, combiner_fpr=share)))
            by_bar[share].append(evaluate(SafetyFilter(matcher=matcher), prompts, True))
        matcher.head = with_combiner(head, *fit_combiner(x, y, config))
        safety = SafetyFilter(matcher=matcher)
        for factor in args.veto:
            shipped, risk.RULE_VETO_FACTOR = risk.RULE_VETO_FACTOR, factor
            by_veto[factor].append(evaluate(safety, prompts, True))
            risk.RULE_VETO_FACTOR = shipped
        for with_emotion in (True, False):
            report = evaluate(safety, prompts, with_emotion)
            reports[with_emotion].append(report)
            print_report(
                f"{held} held out, {'with the emotion reading' if with_emotion else 'text alone'}", report, args.wrong
            )
    for with_emotion, rows in reports.items():
        print(
            f"\npooled over the {len(rows)} files, {'with the emotion reading' if with_emotion else 'text alone'}: {pooled(rows)}"
        )
    for share, rows in by_bar.items():
        print(f"combiner bar at {share:.3f} of look-alikes, with the emotion reading: {pooled(rows)}")
    for factor, rows in by_veto.items():
        print(f"a direct rule's veto at {factor:.2f} of the bar, with the emotion reading: {pooled(rows)}")
    if args.baseline:
        matcher.head = None
        safety = SafetyFilter(matcher=matcher)
        for held in heads:
            print_report(
                f"{held}, without head and combiner", evaluate(safety, load_prompts(REPO / held), False), args.wrong
            )


if __name__ == "__main__":
    main()
