"""How long a wait is, said as a person would ("15 minutes", "1 hour 30 minutes"): django-axes
hands the lockout page an ISO 8601 duration ("PT15M") and a timedelta."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.template.defaultfilters import pluralize

register = template.Library()


@register.filter
def wait_text(wait: timedelta | None) -> str:
    """Whole minutes, rounded up (a wait is never shorter than said); hours past the hour."""
    if not isinstance(wait, timedelta):
        return ""
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{pluralize(hours)}"] if hours else []
    if minutes:
        parts.append(f"{minutes} minute{pluralize(minutes)}")
    return " ".join(parts)
