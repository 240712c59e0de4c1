"""Ensembles: a named combination of installed models, listed and run like a model.

:mod:`~demixer.engine.ensemble.manifest` (light: what is on disk),
:mod:`~demixer.engine.ensemble.session` (runs the members one after another and averages).
"""
