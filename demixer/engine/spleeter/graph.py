"""Spleeter's 2-stem U-Nets rebuilt as one ONNX graph from the weights of its TF checkpoint.

Follows Spleeter's ``model/functions/unet.py`` (``apply_unet``, the default ``unet.unet``) and
``model/__init__.py`` (``_build_masks``), layer for layer, in NCHW:

- encoder, six times: Conv2D 5x5 stride 2 'same' -> BatchNorm -> LeakyReLU(0.2); the skip
  connections and the bottleneck take the convolution's output *before* its BatchNorm (the
  sixth BatchNorm and activation are built but unused, as in the reference);
- decoder, six times: Conv2DTranspose 5x5 stride 2 'same' -> ReLU -> BatchNorm (-> Dropout 0.5
  on the first three: nothing at inference) -> concatenated after the matching encoder conv;
- Conv2D 2 filters 4x4 dilation 2 'same' + sigmoid, times the input: the instrument's
  magnitude estimate;
- the two estimates turned into ratio masks:
  ``mask_i = (y_i**2 + eps / 2) / (y_vocals**2 + y_accompaniment**2 + eps)``, eps = 1e-10.

TensorFlow's 'same' padding for a stride-2 5x5 convolution over an even size pads 3 in all, 1
before and 2 after (``pad_total = k - s``, the smaller half first); the transposed convolution
is that convolution's gradient, so the same pads crop its full output back to twice its input.
Keras kernels are HWIO (convolutions) and HWOI (transposed ones); ONNX wants OIHW and IOHW.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

INSTRUMENTS = ("vocals", "accompaniment")
FILTERS = (16, 32, 64, 128, 256, 512)
BN_EPSILON = 1e-3  # Keras BatchNormalization's default, which Spleeter keeps
LEAKY_SLOPE = 0.2
EPSILON = 1e-10  # EstimatorSpecBuilder.EPSILON
SAME_STRIDE2 = [1, 1, 2, 2]  # ONNX pads (top, left, bottom, right) of TF 'same', 5x5 stride 2
SAME_DILATED = [3, 3, 3, 3]  # 4x4 dilation 2: an effective 7x7, 3 either side
OPSET = 17
# Keras names layers by kind and creation order, across both U-Nets: one U-Net makes 7 Conv2D
# (six encoder, one final), 6 Conv2DTranspose and 12 BatchNormalization layers
CONVS_PER_UNET, DECONVS_PER_UNET, NORMS_PER_UNET = 7, 6, 12


def _layer(kind: str, index: int) -> str:
    return kind if index == 0 else f"{kind}_{index}"


@dataclass(frozen=True)
class BatchNorm:
    """Inference-time BatchNormalization parameters, float32 (C,) each."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    variance: np.ndarray


@dataclass(frozen=True)
class UNetWeights:
    """One instrument's U-Net: kernels as Keras stores them (HWIO / HWOI), float32."""

    convs: list[tuple[np.ndarray, np.ndarray]]  # 6 encoder + the final 4x4: (kernel, bias)
    deconvs: list[tuple[np.ndarray, np.ndarray]]  # 6 transposed convolutions
    norms: list[BatchNorm]  # 6 encoder + 6 decoder


def _expected_shapes(channels: int) -> dict[str, list[tuple[int, ...]]]:
    """Kernel shapes of one U-Net, so a mapping by name order is checked by shape."""
    ins = (channels, *FILTERS[:-1])
    convs: list[tuple[int, ...]] = [(5, 5, i, o) for i, o in zip(ins, FILTERS, strict=True)]
    convs.append((4, 4, 1, 2))
    outs = (*FILTERS[-2::-1], 1)  # 256, 128, 64, 32, 16, 1
    deconv_ins = (FILTERS[-1], *(2 * f for f in FILTERS[-2::-1]))  # 512, 512, 256, 128, 64, 32
    deconvs: list[tuple[int, ...]] = [(5, 5, o, i) for o, i in zip(outs, deconv_ins, strict=True)]
    norms: list[tuple[int, ...]] = [(f,) for f in (*FILTERS, *outs)]
    return {"convs": convs, "deconvs": deconvs, "norms": norms}


def unet_weights(tensors: dict[str, np.ndarray], instrument: int, channels: int = 2) -> UNetWeights:
    """The checkpoint's variables of U-Net number ``instrument`` (0 vocals, 1 accompaniment).

    Raises ``ValueError`` when a variable is missing or has another shape than the layer it is
    mapped to needs.
    """
    expected = _expected_shapes(channels)

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in tensors:
            raise ValueError(f"checkpoint has no variable {name}")
        value = tensors[name]
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, the U-Net needs {shape}")
        return np.asarray(value, dtype=np.float32)

    convs, deconvs, norms = [], [], []
    for i, shape in enumerate(expected["convs"]):
        layer = _layer("conv2d", instrument * CONVS_PER_UNET + i)
        convs.append((get(f"{layer}/kernel", shape), get(f"{layer}/bias", shape[-1:])))
    for i, shape in enumerate(expected["deconvs"]):
        layer = _layer("conv2d_transpose", instrument * DECONVS_PER_UNET + i)
        deconvs.append((get(f"{layer}/kernel", shape), get(f"{layer}/bias", shape[2:3])))
    for i, shape in enumerate(expected["norms"]):
        layer = _layer("batch_normalization", instrument * NORMS_PER_UNET + i)
        norms.append(
            BatchNorm(
                *(
                    get(f"{layer}/{p}", shape)
                    for p in ("gamma", "beta", "moving_mean", "moving_variance")
                )
            )
        )
    return UNetWeights(convs, deconvs, norms)


class GraphBuilder:
    """Accumulates nodes and initializers; each layer method returns its output's name.

    The layer methods are the U-Net's building blocks, with TensorFlow's padding and Keras's
    kernel layouts; tests build one-layer graphs with them to check each against numpy.
    """

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        from onnx import helper

        out = self.name(hint)
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def encoder_conv(self, x: str, kernel: np.ndarray, bias: np.ndarray, hint: str) -> str:
        """Keras ``Conv2D(k, (5, 5), strides=2, padding='same')``; kernel HWIO (5, 5, I, O)."""
        w = self.const(f"{hint}_w", kernel.transpose(3, 2, 0, 1))  # HWIO -> OIHW
        b = self.const(f"{hint}_b", bias)
        return self.op(
            "Conv", [x, w, b], hint, kernel_shape=[5, 5], strides=[2, 2], pads=SAME_STRIDE2
        )

    def decoder_deconv(self, x: str, kernel: np.ndarray, bias: np.ndarray, hint: str) -> str:
        """Keras ``Conv2DTranspose(k, (5, 5), strides=2, padding='same')``: output twice the
        input; kernel HWOI (5, 5, O, I)."""
        w = self.const(f"{hint}_w", kernel.transpose(3, 2, 0, 1))  # HWOI -> IOHW
        b = self.const(f"{hint}_b", bias)
        return self.op(
            "ConvTranspose", [x, w, b], hint, kernel_shape=[5, 5], strides=[2, 2], pads=SAME_STRIDE2
        )

    def final_conv(self, x: str, kernel: np.ndarray, bias: np.ndarray, hint: str) -> str:
        """Keras ``Conv2D(2, (4, 4), dilation_rate=2, padding='same')`` before its sigmoid."""
        w = self.const(f"{hint}_w", kernel.transpose(3, 2, 0, 1))  # HWIO -> OIHW
        b = self.const(f"{hint}_b", bias)
        return self.op(
            "Conv", [x, w, b], hint, kernel_shape=[4, 4], dilations=[2, 2], pads=SAME_DILATED
        )

    def norm(self, x: str, bn: BatchNorm, hint: str) -> str:
        """Keras ``BatchNormalization`` at inference (moving statistics, epsilon 1e-3)."""
        params = [
            self.const(f"{hint}_{p}", getattr(bn, p)) for p in ("gamma", "beta", "mean", "variance")
        ]
        return self.op("BatchNormalization", [x, *params], hint, epsilon=BN_EPSILON)

    def model(self, inputs: dict[str, list[Any]], outputs: dict[str, tuple[str, list[Any]]]) -> Any:
        """The finished, checked ``onnx.ModelProto``.

        ``inputs``: graph input name -> shape (ints or symbolic names); ``outputs``: graph
        output name -> (the internal value it is, its shape). All float32.
        """
        import onnx
        from onnx import TensorProto, helper

        nodes = list(self.nodes)
        for name, (value, _) in outputs.items():
            nodes.append(helper.make_node("Identity", [value], [name], name=name))
        graph = helper.make_graph(
            nodes,
            "spleeter_2stems",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
            [
                helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                for n, (_, s) in outputs.items()
            ],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.producer_name = "demixer"
        onnx.checker.check_model(model)
        return model


def _unet(b: GraphBuilder, x: str, weights: UNetWeights, tag: str) -> str:
    """One U-Net on NCHW (batch, channels, T, F) magnitudes: its estimate, same shape."""
    skips = []
    h = x
    for i in range(6):
        conv = b.encoder_conv(h, *weights.convs[i], f"{tag}_conv{i + 1}")
        skips.append(conv)
        if i < 5:  # the sixth BatchNorm + activation feed nothing
            normed = b.norm(conv, weights.norms[i], f"{tag}_bn{i + 1}")
            h = b.op("LeakyRelu", [normed], f"{tag}_act{i + 1}", alpha=LEAKY_SLOPE)
    h = skips[5]
    for i in range(6):
        up = b.decoder_deconv(h, *weights.deconvs[i], f"{tag}_up{i + 1}")
        up = b.op("Relu", [up], f"{tag}_uprelu{i + 1}")
        up = b.norm(up, weights.norms[6 + i], f"{tag}_bn{7 + i}")
        h = up if i == 5 else b.op("Concat", [skips[4 - i], up], f"{tag}_merge{i + 1}", axis=1)
    logits = b.final_conv(h, *weights.convs[6], f"{tag}_last")
    mask = b.op("Sigmoid", [logits], f"{tag}_sigmoid")
    return b.op("Mul", [mask, x], f"{tag}_spectrogram")


def build_graph(tensors: dict[str, np.ndarray], channels: int = 2) -> Any:
    """The whole 2-stem model as an ``onnx.ModelProto``: magnitudes -> ratio masks.

    Input ``magnitude``: float32 (batch, channels, T, F), |STFT| of the mix, T and F multiples
    of 64 (Spleeter: T = 512 frames, F = 1024 or 1536 bins). Output ``masks``: float32
    (batch, 2, channels, T, F), vocals then accompaniment, summing to 1 up to ``EPSILON``.
    """
    b = GraphBuilder()
    estimates = [
        _unet(b, "magnitude", unet_weights(tensors, i, channels), name)
        for i, name in enumerate(INSTRUMENTS)
    ]
    powers = [
        b.op("Mul", [e, e], f"{name}_power") for e, name in zip(estimates, INSTRUMENTS, strict=True)
    ]
    eps = b.const("epsilon", np.array(EPSILON, dtype=np.float32))
    half_eps = b.const("half_epsilon", np.array(EPSILON / len(INSTRUMENTS), dtype=np.float32))
    total = b.op("Add", [b.op("Add", [powers[0], powers[1]], "power_sum"), eps], "power_total")
    axis = b.const("source_axis", np.array([1], dtype=np.int64))
    masks = []
    for power, name in zip(powers, INSTRUMENTS, strict=True):
        ratio = b.op("Div", [b.op("Add", [power, half_eps], f"{name}_num"), total], f"{name}_mask")
        masks.append(b.op("Unsqueeze", [ratio, axis], f"{name}_mask5d"))
    stacked = b.op("Concat", masks, "stacked_masks", axis=1)
    return b.model(
        {"magnitude": ["batch", channels, "T", "F"]},
        {"masks": (stacked, ["batch", len(INSTRUMENTS), channels, "T", "F"])},
    )
