"""``attune train|eval|prepare``: the command line of the training package.

    attune train journal-mood --config minilm --set epochs=1 --out var/models/journal-mood
    attune eval classifiers --model-dir var/models/journal-mood
    attune prepare

Recipes and eval targets are imported only when named, so ``attune train retrieval`` never
pays for (or needs) another recipe's dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from training.common.config import ConfigError, describe, load_config
from training.common.paths import MissingData, MissingWeights, attune_home, configs_dir

RECIPES = {
    "journal-mood": "training.recipes.journal_mood",
    "text-emotion": "training.recipes.text_emotion",
    "retrieval": "training.recipes.retrieval",
    "psychotherapist": "training.recipes.psychotherapist",
    "qwen-empathetic": "training.recipes.qwen_empathetic",
    "emodecoder": "training.recipes.emodecoder",
    "emotibot-responder": "training.recipes.emotibot_responder",
    "face-emotion": "training.recipes.face_emotion",
    "crisis-head": "training.recipes.crisis_head",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except (MissingWeights, MissingData) as error:
        print(f"unavailable: {error}", file=sys.stderr)
        return 3


def resolve_config_path(recipe: str, config: str | None) -> Path | None:
    """A path as given, or a bare name looked up in ``training/configs/<recipe>/<name>.toml``."""
    if config is None:
        return None
    given = Path(config)
    if given.suffix == ".toml" and given.exists():
        return given
    named = configs_dir(recipe) / f"{given.stem}.toml"
    if named.exists():
        return named
    available = sorted(p.stem for p in configs_dir(recipe).glob("*.toml"))
    raise ConfigError(f"no config {config!r} for {recipe}; available: {available}")


def _train(args: argparse.Namespace) -> int:
    module = importlib.import_module(RECIPES[args.recipe])
    if args.describe:
        print(f"{args.recipe} config fields:\n{describe(module.Config)}")
        return 0
    config_name = args.config or getattr(module, "DEFAULT_CONFIG", None)
    overrides = list(args.set) + ([f"out_dir={args.out}"] if args.out else [])
    config = load_config(module.Config, resolve_config_path(args.recipe, config_name), overrides)
    artifact = module.run(config)
    print(f"artifact: {artifact}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"training.eval.{args.target.replace('-', '_')}")
    return int(module.main(args.rest))


def _prepare(args: argparse.Namespace) -> int:
    from training.prepare import ensure_default_artifacts

    ensure_default_artifacts(Path(args.home), progress=not args.quiet, include_background=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attune", description="Attune's offline training package.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="run a training recipe")
    train.add_argument("recipe", choices=sorted(RECIPES))
    train.add_argument("--config", help="a .toml path or a config name under training/configs/<recipe>/")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    train.add_argument("--out", help="artifact directory (overrides out_dir)")
    train.add_argument("--describe", action="store_true", help="list the recipe's config fields and exit")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("eval", help="evaluate an artifact (training.eval.<target>)")
    evaluate.add_argument("target", help="e.g. classifiers")
    evaluate.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the target")
    evaluate.set_defaults(handler=_eval)

    prepare = commands.add_parser("prepare", help="build every default model (classifiers, retrieval index)")
    prepare.add_argument("--home", default=str(attune_home()), help="ATTUNE_HOME (default: %(default)s)")
    prepare.add_argument("--quiet", action="store_true", help="no progress bars")
    prepare.set_defaults(handler=_prepare)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
