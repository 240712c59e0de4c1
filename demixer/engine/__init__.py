"""The separation engine: htdemucs and Spleeter on onnxruntime with numpy host DSP. Never
imports Django.

Public entry points live in :mod:`demixer.engine.separate`; the CLI in :mod:`demixer.engine.cli`.
"""

from demixer.engine.errors import (
    AudioDecodeError,
    Cancelled,
    EngineError,
    ModelNotAvailable,
)

__all__ = ["AudioDecodeError", "Cancelled", "EngineError", "ModelNotAvailable"]
