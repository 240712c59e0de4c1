"""Errors the engine raises on purpose; each carries a message fit to show a user."""


class EngineError(Exception):
    """Base class: the message is one human-readable line, never a traceback."""


class AudioDecodeError(EngineError):
    """The input is missing, empty, not audio, or corrupt/truncated."""


class AudioTooLargeError(AudioDecodeError):
    """The input passes a limit (sample rate, channels, duration): refused before it can use
    much memory or time, and never worth retrying."""


class AudioEncodeError(EngineError):
    """A stem could not be written in the requested format."""


class ModelNotAvailable(EngineError):
    """The weights are missing or fail their checksum, or a device is not available."""


class FetchError(EngineError):
    """Fetching the weights failed (npm missing, registry unreachable, checksum mismatch)."""


class Cancelled(Exception):
    """The caller asked to stop; raised between segments. Not an :class:`EngineError`: a
    handler of failures that catches those must never turn a cancel into a failure."""
