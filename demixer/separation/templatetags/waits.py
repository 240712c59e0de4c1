"""``{{ seconds|about }}``: a wait or a time left as people say it.

The job page's script (``separation/static/separation/job.js``, ``about()``) words the live
numbers with the same rules, so the text does not change when the first poll answers:

- under a minute: whole seconds, "about 40 s";
- under an hour: whole minutes, "about 3 min";
- longer: hours and minutes, "about 1 h 5 min" ("about 2 h" on the hour).

Halves round up (as JavaScript's ``Math.round``), not to even (as Python's ``round``). None (the
server does not know) words as "".
"""

from __future__ import annotations

import math

from django import template

register = template.Library()


def _nearest(value: float) -> int:
    return math.floor(value + 0.5)


@register.filter
def about(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = _nearest(max(0.0, float(seconds)))
    if whole < 60:
        return f"about {whole} s"
    minutes = _nearest(whole / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h" + (f" {minutes} min" if minutes else "")
