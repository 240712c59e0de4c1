"""Recipes: one model on the mix, then another on one of its stems (or on the mix minus it).

:mod:`.manifest` is the recipe on disk and how its stems are named, :mod:`.cli` the
``demixer models recipe`` command, :mod:`.session` the engine's session that runs both steps.
"""
