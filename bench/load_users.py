"""The users of ``bench/load.py`` (a locustfile; run by that script, not on its own).

Logged-in listeners browse their library and result page, poll their job's status, play
previews (Range), download masters and the zip, and ask for renders (an MP3 of a stem, a custom
mix): ask with ``Accept: application/json``, poll the status URL with a back-off, download the
file. A server that renders inside the request (the old code) answers the ask with the file
itself, and that is recorded as the ask's latency. A few anonymous visitors load the landing
and login pages. Every request is recorded by category into ``$LOAD_RESULTS`` at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import HttpUser, between, events, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
_accounts = itertools.cycle(PLAN["users"])
RENDER_WAIT_S = 60.0
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
records: list[tuple[str, float, float, bool]] = []  # (name, end time, ms, ok)


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None, **kw) -> None:
    records.append((name, time.time(), response_time, exception is None))


@events.quitting.add_listener
def _dump(environment, **kw) -> None:
    Path(os.environ["LOAD_RESULTS"]).write_text(json.dumps(records))


class Listener(HttpUser):
    """A logged-in user with one finished separation (and the session the script made)."""

    weight = 9
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.me = next(_accounts)
        self.client.cookies.set("sessionid", self.me["session"])
        page = self.client.get(self.me["result"], name="page: result")
        found = CSRF.search(page.text)
        self.csrf = found.group(1) if found else ""

    @task(4)
    def library(self) -> None:
        self.client.get("/library/", name="page: library")

    @task(3)
    def result(self) -> None:
        self.client.get(self.me["result"], name="page: result")

    @task(6)
    def poll(self) -> None:
        self.client.get(self.me["status"], name="poll: separation status")

    @task(3)
    def preview(self) -> None:
        url = random.choice(self.me["previews"])
        headers = {"Range": f"bytes={random.randrange(0, 100_000)}-"}
        self.client.get(url, name="file: preview (range)", headers=headers)

    @task(1)
    def master(self) -> None:
        self.client.get(random.choice(self.me["flac"]), name="file: master flac")

    @task(1)
    def stems_zip(self) -> None:
        self.client.get(self.me["zip"], name="file: zip (flac)")

    @task(1)
    def mp3(self) -> None:
        self._rendered("GET", random.choice(self.me["mp3"]), "render ask: stem mp3")

    @task(1)
    def mix(self) -> None:
        data = {f"gain_{name}": random.choice(("0", "0.5", "1")) for name in self.me["stems"]}
        data["format"] = random.choice(("mp3", "wav"))
        data["csrfmiddlewaretoken"] = self.csrf
        headers = {"Referer": self.host + self.me["result"]}
        self._rendered("POST", self.me["mix"], "render ask: mix", data=data, headers=headers)

    def _rendered(self, method: str, url: str, name: str, **kwargs) -> None:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        response = self.client.request(method, url, name=name, headers=headers, **kwargs)
        if "json" not in response.headers.get("Content-Type", ""):
            return  # the file itself: rendered inside the request
        state = response.json()
        delay, deadline = 0.5, time.monotonic() + RENDER_WAIT_S
        while state.get("status") in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            state = self.client.get(state["status_url"], name="poll: render status").json()
        if state.get("status") == "done":
            self.client.get(state["download_url"], name="file: rendered")


class Visitor(HttpUser):
    """Someone not logged in: the pages the issue saw stall for 33 s."""

    weight = 1
    wait_time = between(0.5, 2.0)

    @task
    def pages(self) -> None:
        self.client.get("/", name="page: landing")
        self.client.get("/accounts/login/", name="page: login")
