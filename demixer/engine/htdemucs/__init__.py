"""htdemucs (Hybrid Transformer Demucs v4): host DSP, the onnxruntime graph and its fused and
int8 variants, the chunked overlap-add that drives it, and a bag of such graphs."""
