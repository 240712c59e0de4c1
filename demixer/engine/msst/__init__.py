"""MDX23C (TFC-TDF v3) and SCNet: MSST checkpoints imported by ``demixer models import``.

Both predict each stem's spectrum (no mask): :mod:`.settings` is what the host needs,
:mod:`.model` the reference's STFT, the onnxruntime graph and its iSTFT on one chunk, and
:mod:`.session` the engine's session, which runs MSST's ``demix`` chunking
(:mod:`demixer.engine.roformer.demix`, shared with the RoFormers).
"""
