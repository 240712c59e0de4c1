"""Importing official Demucs v4 checkpoints (``demixer models import``).

:mod:`~demixer.engine.importer.manifest` is light (the registry reads it in web processes);
:mod:`~demixer.engine.importer.run` drives the import; ``export_demucs.py`` runs in an environment
of its own with PyTorch and ``demucs`` (:mod:`~demixer.engine.importer.environment`), never in
demixer's processes.
"""
