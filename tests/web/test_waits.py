"""One wording for waits and time left: the job page as the server draws it (the ``|about``
filter) and as the pages' script (words.js, which job.js and the live player use on each poll)
rewrites it say the same thing for the same seconds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template import Context, Template

from demixer.separation.templatetags.waits import about

WORDS_JS = Path(__file__).resolve().parents[2] / "demixer/separation/static/separation/words.js"

WORDED = [
    (0, "about 0 s"),
    (1, "about 1 s"),
    (40, "about 40 s"),
    (59.4, "about 59 s"),
    (59.5, "about 1 min"),
    (60, "about 1 min"),
    (89, "about 1 min"),
    (90, "about 2 min"),  # halves round up, as in JavaScript
    (150, "about 3 min"),  # Python's round() would say 2
    (180, "about 3 min"),
    (3569, "about 59 min"),
    (3570, "about 1 h"),
    (3600, "about 1 h"),
    (3900, "about 1 h 5 min"),
    (7200, "about 2 h"),
    (7230, "about 2 h 1 min"),
]


@pytest.mark.parametrize(("seconds", "text"), WORDED)
def test_the_filter_words_seconds_minutes_and_hours(seconds: float, text: str) -> None:
    assert about(seconds) == text


def test_the_filter_says_nothing_when_the_server_does_not_know() -> None:
    assert about(None) == ""
    assert Template("{% load waits %}[{{ x|about }}]").render(Context({"x": None})) == "[]"
    assert Template("{% load waits %}{{ x|about }}").render(Context({"x": 3900})) == (
        "about 1 h 5 min"
    )


# words.js in Node: each status worded as the pages show it in #job-eta
HARNESS = r"""
const statuses = JSON.parse(process.argv[2]);
import(require("url").pathToFileURL(process.argv[1]).href).then(({ eta }) => {
  process.stdout.write(JSON.stringify(statuses.map(eta)));
});
"""


def _status(status: str, eta: float | None = None, wait: float | None = None) -> dict:
    return {
        "status": status,
        "status_label": status.capitalize(),
        "percent": 10,
        "stage": "separating",
        "queue_position": 1 if status == "queued" else None,
        "eta_seconds": eta,
        "wait_seconds": wait,
        "error": "",
    }


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the page's script")
def test_the_pages_script_words_them_as_the_filter_does() -> None:
    cases = [(_status("running", eta=s), f"{text} left") for s, text in WORDED]
    cases += [(_status("queued", wait=s), f"starts in {text}") for s, text in WORDED]
    cases += [(_status("running"), ""), (_status("queued"), "")]  # not known: nothing
    cases += [(_status("queued", eta=30), "")]  # a queued job has no time left, only a wait
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", HARNESS, str(WORDS_JS), json.dumps([status for status, _ in cases])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [text for _, text in cases]
