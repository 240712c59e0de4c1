"""``demixer models ensemble NAME a b ... [--weights ...]``: name a combination of models."""

from __future__ import annotations

import argparse
import sys

from demixer.engine import registry
from demixer.engine.ensemble import manifest
from demixer.engine.errors import EngineError
from demixer.engine.importer.run import _check_name
from demixer.engine.model_files import models_dir


def add_parser(models_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ensemble = models_sub.add_parser(
        "ensemble",
        help="name a combination of installed models (per stem, their weighted average)",
        description="Per stem, the weighted average of the waveforms of the members that give "
        "that stem (audio-separator's avg_wave); the ensemble's stems are the union of its "
        "members'. Listed and chosen like any model.",
    )
    ensemble.add_argument("name")
    ensemble.add_argument("members", nargs="+", metavar="MODEL")
    ensemble.add_argument("--weights", nargs="+", type=float, metavar="W", help="one a member")
    ensemble.add_argument("--force", action="store_true", help="replace one of that name")


def create(args: argparse.Namespace) -> registry.ModelSpec:
    members = list(args.members)
    weights = list(args.weights) if args.weights else [1.0] * len(members)
    if len(members) < 2 or len(set(members)) != len(members):
        raise EngineError("an ensemble needs two different models or more")
    if len(weights) != len(members) or min(weights) <= 0:
        raise EngineError("give one positive weight a member (--weights 2 1)")
    for name in members:
        spec = registry.get_spec(name)
        if spec.architecture == "ensemble":
            raise EngineError(f"{name} is an ensemble; name its models instead")
    _check_name(args.name, models_dir(), args.force)
    ensemble = manifest.Ensemble(args.name, tuple(members), tuple(weights))
    spec = registry.ensemble_spec(ensemble, registry.MODELS)
    folder = manifest.write(models_dir(), ensemble)
    print(f"ensemble {spec.name}: {spec.stems_label} ({spec.label}) in {folder}", file=sys.stderr)
    return spec
