"""How long a separation takes here, as the upload form says it: "about N× the song's length".

N is htdemucs' real-time factor on this server times the chosen model's speed relative to
htdemucs (the registry's, measured: :mod:`demixer.engine.speeds`). htdemucs' factor here comes
from this server's recent finished jobs, each counted in htdemucs-equivalent audio (its length
times its model's relative speed), so any mix of models measures it; before any job has finished,
from the figure measured on this project's reference host
(:data:`demixer.engine.speeds.REFERENCE_RTF`).
"""

from __future__ import annotations

from demixer.engine import registry, speeds
from demixer.separation.models import Separation, Status

RECENT_JOBS = 20  # the finished jobs that measure this server's speed
EXAMPLE_MINUTES = 4  # the song length the note works through


def htdemucs_rtf_here() -> float:
    """Seconds of work per second of audio for htdemucs on this server (see the module)."""
    recent = (
        Separation.objects.filter(
            status=Status.DONE, started__isnull=False, finished__isnull=False, track__duration__gt=0
        )
        .order_by("-finished")
        .values_list("started", "finished", "track__duration", "model_name")[:RECENT_JOBS]
    )
    wall = work = 0.0
    for started, finished, duration, model in recent:
        spec = registry.MODELS.get(model)
        if spec is None or started is None or finished is None:
            continue  # a model this server no longer has: its speed is unknown
        wall += max(0.0, (finished - started).total_seconds())
        work += duration * spec.speed
    return wall / work if wall > 0 and work > 0 else speeds.REFERENCE_RTF


def times_length(model: str, htdemucs_rtf: float) -> float:
    """How many times the song's length ``model`` takes here."""
    return htdemucs_rtf * registry.get_spec(model).speed


def note(times: float) -> str:
    """The form's sentence: 'About 0.4× the song's length here: a 4-minute song takes about
    2 minutes.'"""
    factor = f"{times:.0f}" if times >= 10 else f"{times:.1f}"
    return (
        f"About {factor}× the song's length here: a {EXAMPLE_MINUTES}-minute song takes about "
        f"{_duration(EXAMPLE_MINUTES * 60 * times)}."
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(10, round(seconds / 10) * 10)} seconds"
    minutes = seconds / 60
    if minutes < 10:
        halves = round(minutes * 2) / 2
        return f"{halves:g} minutes"
    return f"{round(minutes)} minutes"
