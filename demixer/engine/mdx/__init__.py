"""UVR's MDX-Net models (plain ``.onnx`` files) run as python-audio-separator 0.47.1 runs them.

:mod:`~demixer.engine.mdx.params` (light: what a file needs to run and how it is told),
:mod:`~demixer.engine.mdx.dsp` (the reference's STFT), :mod:`~demixer.engine.mdx.model` (its
chunked inference on onnxruntime), :mod:`~demixer.engine.mdx.session` (the engine's session),
:mod:`~demixer.engine.mdx.importer` (``demixer models import MODEL.onnx``).
"""
