"""What a track holds besides its stems: key and tempo (:mod:`.key_tempo`), chords
(:mod:`.chords`) and notes (:mod:`.notes`, Basic Pitch on onnxruntime).

Key and tempo are re-exported here, where their callers import them from. Nothing heavy is
imported at package level: librosa and onnxruntime load when a track is analysed, never in web
processes.
"""

from demixer.engine.analysis.key_tempo import (
    ANALYSIS_RATE,
    MAJOR_PROFILE,
    MAX_SECONDS,
    MIN_KEY_CONFIDENCE,
    MINOR_PROFILE,
    PITCH_CLASSES,
    Analysis,
    KeyEstimate,
    _mono,
    analyse,
    estimate_bpm,
    estimate_key,
    key_of,
    key_scores,
)

__all__ = [
    "ANALYSIS_RATE",
    "MAJOR_PROFILE",
    "MAX_SECONDS",
    "MINOR_PROFILE",
    "MIN_KEY_CONFIDENCE",
    "PITCH_CLASSES",
    "Analysis",
    "KeyEstimate",
    "_mono",
    "analyse",
    "estimate_bpm",
    "estimate_key",
    "key_of",
    "key_scores",
]
