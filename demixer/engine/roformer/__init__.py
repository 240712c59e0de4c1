"""BS-RoFormer and Mel-Band RoFormer (MSST checkpoints imported by ``demixer models import``).

:mod:`.dsp` is the reference's ``torch.stft``/``torch.istft`` in numpy, :mod:`.demix` its
whole-song chunking (MSST's ``demix``), :mod:`.model` the onnxruntime graph between them and
:mod:`.session` the engine's session around it.
"""
