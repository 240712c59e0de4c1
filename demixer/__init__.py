"""demixer: music source separation (htdemucs on onnxruntime) and the web app around it."""
