"""``demixer models recipe NAME --first A --then B --on STEM``: name a two-step separation."""

from __future__ import annotations

import argparse
import sys

from demixer.engine import registry
from demixer.engine.errors import EngineError
from demixer.engine.importer.run import _check_name
from demixer.engine.model_files import models_dir
from demixer.engine.recipe import manifest
from demixer.engine.stems import REST_PREFIX


def add_parser(models_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recipe = models_sub.add_parser(
        "recipe",
        help="name a two-step separation: a model on the mix, another on one of its stems",
        description="Runs --first on the mix, then --then on one of its stems (--on drums) or "
        "on the mix minus one (--on no_vocals: the instrumental). The recipe's stems are the "
        "first model's less the one split further, plus the second's: drums_kick, ... for a "
        "stem; their own names for the rest (no_vocals_vocals where a name is taken). Listed "
        "and chosen like any model. Examples: --first spleeter --then htdemucs --on "
        "accompaniment; --first htdemucs --then drumsep --on drums; --first my-roformer "
        "--then htdemucs --on no_vocals.",
    )
    recipe.add_argument("name")
    recipe.add_argument("--first", required=True, metavar="MODEL", help="runs on the mix")
    recipe.add_argument(
        "--then", required=True, metavar="MODEL", help="runs on the first's --on stem"
    )
    recipe.add_argument(
        "--on",
        required=True,
        metavar="STEM",
        help="a stem of --first (drums), or no_STEM for the mix minus it (no_vocals)",
    )
    recipe.add_argument("--force", action="store_true", help="replace a model of that name")


def parse_on(on: str, first: registry.ModelSpec) -> tuple[str, bool]:
    """(stem, complement) from ``--on``: a stem of the first model, else ``no_<stem>``."""
    if on in first.sources:
        return on, False
    stem = on.removeprefix(REST_PREFIX)
    if on.startswith(REST_PREFIX) and stem in first.sources:
        return stem, True
    choices = ", ".join([*first.sources, *(REST_PREFIX + s for s in first.sources)])
    raise EngineError(f"--on {on}: not a stem of {first.name} (choose one of {choices})")


def create(args: argparse.Namespace) -> registry.ModelSpec:
    first, then = registry.get_spec(args.first), registry.get_spec(args.then)
    for spec in (first, then):
        if spec.architecture == manifest.ARCHITECTURE:
            raise EngineError(f"{spec.name} is a recipe; a recipe's steps are models")
    stem, complement = parse_on(args.on, first)
    _check_name(args.name, models_dir(), args.force)
    recipe = manifest.Recipe(args.name, first.name, then.name, stem, complement)
    try:
        spec = registry.recipe_spec(recipe, registry.MODELS)
    except ValueError as exc:
        raise EngineError(str(exc)) from None
    folder = manifest.write(models_dir(), recipe)
    print(f"recipe {spec.name}: {spec.stems_label} ({spec.label}) in {folder}", file=sys.stderr)
    return spec
