"""The lockout page's wait, said in words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demixer.accounts.templatetags.lockout import wait_text


@pytest.mark.parametrize(
    ("wait", "said"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=61), "2 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(hours=24), "24 hours"),
        (None, ""),
    ],
)
def test_wait_text(wait, said) -> None:
    assert wait_text(wait) == said
