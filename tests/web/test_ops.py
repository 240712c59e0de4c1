"""Operations: /healthz, /readyz, /metrics, one log line per request and per job state change."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demixer.engine import registry
from demixer.separation import services
from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from tests.web.test_redis_queue import redis_unreachable

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scraper-secret-token"
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def make_track(user, duration: float = 60.0, title: str = "Song") -> Track:
    return Track.objects.create(
        owner=user,
        title=title,
        original_name="song.wav",
        sha256=title.encode().hex().ljust(64, "0")[:64],
        size=1000,
        duration=duration,
        sample_rate=44100,
        channels=2,
    )


# /healthz


def test_healthz_answers_without_the_database(client: Client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"].startswith("text/plain")


def test_probes_answer_any_host_and_plain_http(client: Client, settings) -> None:
    """Probes reach each host by its IP over HTTP: no 400 for the host, no HTTPS redirect."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400  # the site itself
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200


# /readyz


def test_readyz_passes_every_check(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "ready": True,
        "checks": {name: {"ok": True} for name in ("database", "queue", "storage", "models")},
    }
    assert response["Cache-Control"] == "no-store"


def test_readyz_leaves_nothing_in_storage(client: Client, media_dir: Path) -> None:
    client.get("/readyz")
    assert [p for p in media_dir.rglob("*") if p.is_file()] == []


def test_readyz_fails_when_storage_cannot_be_written(client: Client, settings, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = client.get("/readyz")
    assert response.status_code == 503
    storage = response.json()["checks"]["storage"]
    assert storage["ok"] is False
    assert storage["error"].startswith("cannot write and read back a file in storage (")
    assert str(tmp_path) not in response.content.decode()  # no paths on a public page
    assert response.json()["checks"]["database"] == {"ok": True}


def test_readyz_fails_without_verified_weights(client: Client, tmp_path) -> None:
    (tmp_path / "htdemucs.onnx").write_bytes(b"not the weights")
    registry.configure(tmp_path)
    try:
        response = client.get("/readyz")
    finally:
        from django.conf import settings

        registry.configure(settings.MODELS_DIR)
    assert response.status_code == 503
    assert response.json()["checks"]["models"] == {
        "ok": False,
        "error": "htdemucs weights missing or failing their checksum; run `demixer fetch-models`",
    }


def test_a_broken_import_is_listed_but_the_site_stays_ready(client: Client, monkeypatch) -> None:
    """A changed imported graph refuses its own jobs (at submission); the site still serves the
    built-in models, so a load balancer must not take it out."""
    imported = dataclasses.replace(registry.HTDEMUCS, name="htdemucs_6s", origin="import")
    monkeypatch.setattr(registry, "MODELS", {**registry.BUILT_IN, "htdemucs_6s": imported})
    real = registry.is_verified
    monkeypatch.setattr(registry, "is_verified", lambda spec: spec is not imported and real(spec))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["models"] == {"ok": True, "unavailable": ["htdemucs_6s"]}
    # a built-in model that fails still makes the site unready
    monkeypatch.setattr(registry, "is_verified", lambda spec: spec.name != "spleeter")
    assert client.get("/readyz").status_code == 503


def test_readyz_fails_when_redis_is_down(client: Client, settings) -> None:
    settings.QUEUE = "rq"
    settings.RQ_QUEUES = {"separation": {"URL": NOWHERE}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["queue"] == {
        "ok": False,
        "error": "cannot reach the job queue (ConnectionError)",
    }


def test_readyz_pings_redis_with_the_rq_queue(client: Client, settings) -> None:
    from tests.services import REDIS_URL

    reason = redis_unreachable()
    if reason:
        pytest.skip(reason)
    settings.QUEUE = "rq"
    settings.RQ_QUEUES = {"separation": {"URL": REDIS_URL}}
    assert client.get("/readyz").json()["checks"]["queue"] == {"ok": True}


@pytest.mark.slow  # a fresh interpreter (~1 s)
def test_readiness_never_imports_onnxruntime() -> None:
    """A web process runs the checks: the model check must use the registry's light side."""
    script = (
        "import contextlib, sys, django; django.setup()\n"
        "from demixer.ops import endpoints, health\n"
        "with contextlib.suppress(health.NotReady):\n"
        "    health.check_models()\n"
        "print('onnxruntime' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "demixer.config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


# /metrics


def test_metrics_are_a_404_without_a_token(client: Client, settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_need_the_token(client: Client, settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "demixer_jobs" not in response.content.decode()


def scrape(client: Client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, name: str, default: float | None = None, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (``default`` if there is none)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    if default is not None:
        return default
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_count_jobs_and_their_speed(alice, client: Client, settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    Separation.objects.create(track=make_track(alice, title="a"))  # queued
    Separation.objects.create(track=make_track(alice, title="b"), status=Status.RUNNING)
    for title, duration, seconds in (("c", 60.0, 30.0), ("d", 100.0, 200.0)):
        Separation.objects.create(
            track=make_track(alice, duration=duration, title=title),
            status=Status.DONE,
            started=now - timedelta(seconds=seconds),
            finished=now,
        )
    text = scrape(client)
    assert sample(text, "demixer_jobs", state="queued") == 1
    assert sample(text, "demixer_jobs", state="running") == 1
    assert sample(text, "demixer_jobs", state="done") == 2
    assert sample(text, "demixer_jobs", state="failed") == 0
    # without Redis the rows are the queue: the queued one waits
    assert sample(text, "demixer_queue_depth") == 1
    # wall times 30 s and 200 s; real-time factors 0.5 and 2.0
    assert sample(text, "demixer_separation_seconds_bucket", le="10.0") == 0
    assert sample(text, "demixer_separation_seconds_bucket", le="30.0") == 1
    assert sample(text, "demixer_separation_seconds_bucket", le="300.0") == 2
    assert sample(text, "demixer_separation_seconds_count") == 2
    assert sample(text, "demixer_separation_seconds_sum") == pytest.approx(230.0)
    assert sample(text, "demixer_separation_realtime_factor_bucket", le="0.25") == 0
    assert sample(text, "demixer_separation_realtime_factor_bucket", le="0.5") == 1
    assert sample(text, "demixer_separation_realtime_factor_bucket", le="1.5") == 1
    assert sample(text, "demixer_separation_realtime_factor_bucket", le="2.0") == 2
    assert sample(text, "demixer_separation_realtime_factor_sum") == pytest.approx(2.5)


def test_metrics_time_requests_by_view_and_status(client: Client, settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    name = "demixer_request_duration_seconds_count"
    labels = {"view": "landing", "method": "GET", "status": "2xx"}
    start = sample(scrape(client), name, default=0, **labels)  # earlier tests in this process
    client.get("/")
    client.get("/")
    assert sample(scrape(client), name, **labels) == start + 2


def request_series(text: str) -> set[str]:
    return {
        line.split(" ")[0]
        for line in text.splitlines()
        if line.startswith("demixer_request_duration_seconds_count")
    }


def test_random_methods_and_paths_add_no_metric_series(client: Client, settings) -> None:
    """Anyone can send any method and path; each label value would be a series kept for the
    process's life, so the labels come from fixed sets (method "other", view "unmatched",
    the status class)."""
    settings.METRICS_TOKEN = TOKEN

    def send(n: int) -> None:
        client.generic(f"X{n}", "/")  # a made-up method on a page
        client.generic(f"PROPFIND{n}", f"/no/such/page/{n}/")  # and on no page at all
        client.get(f"/no/such/page/{n}/")
        client.get("/", HTTP_X_ANYTHING=str(n))

    send(0)
    before = request_series(scrape(client))
    for n in range(1, 40):
        send(n)
    after = request_series(scrape(client))
    assert after == before
    other = 'method="other",status="4xx",view="unmatched"'
    assert f"demixer_request_duration_seconds_count{{{other}}}" in after


def test_metrics_show_the_redis_queue_depth(client: Client, settings) -> None:
    from tests.services import REDIS_URL

    reason = redis_unreachable()
    if reason:
        pytest.skip(reason)
    import redis
    from rq import Queue

    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    settings.METRICS_TOKEN = TOKEN
    settings.QUEUE = "rq"
    settings.RQ_QUEUES = {"separation": {"URL": REDIS_URL}}
    try:
        queue = Queue("separation", connection=server)
        for n in range(3):
            queue.enqueue("builtins.print", n)
        assert sample(scrape(client), "demixer_queue_depth") == 3
    finally:
        server.flushdb()


def test_metrics_leave_out_an_unreachable_queue(client: Client, settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.QUEUE = "rq"
    settings.RQ_QUEUES = {"separation": {"URL": NOWHERE}}
    text = scrape(client)
    assert "demixer_queue_depth" not in text
    assert sample(text, "demixer_jobs", state="queued") == 0


# logs


def test_one_log_line_per_request(alice, alice_client: Client, client: Client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="demixer.requests")
    alice_client.get(reverse("library"))
    client.get("/no-such-page/")
    lines = [r.getMessage() for r in caplog.records if r.name == "demixer.requests"]
    assert len(lines) == 2
    assert re.fullmatch(rf"GET /library/ 200 \d+ms user={alice.pk}", lines[0])
    assert re.fullmatch(r"GET /no-such-page/ 404 \d+ms user=-", lines[1])


def test_a_path_cannot_forge_a_log_line(client: Client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="demixer.requests")
    client.get("/x%0AGET /admin/ 200 1ms user=1")
    [line] = [r.getMessage() for r in caplog.records if r.name == "demixer.requests"]
    assert "\n" not in line
    assert line.startswith("GET /x%0AGET%20/admin/%20200%201ms%20user%3D1 404 ")


def test_reset_links_are_logged_without_their_token(alice, client: Client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="demixer.requests")
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    caplog.clear()
    client.get(link)
    [line] = [r.getMessage() for r in caplog.records if r.name == "demixer.requests"]
    assert token not in line
    assert "/<token>/ 302" in line


def test_every_job_state_change_is_logged_with_the_job_id(alice, caplog) -> None:
    caplog.set_level(logging.INFO, logger="demixer.jobs")
    job, _ = services.start(make_track(alice))
    job_id = str(job.id)
    assert services.claim(job_id, "w:1") is not None
    assert services.requeue(job_id, "w:1")
    assert services.claim(job_id, "w:2") is not None
    assert services.fail(job_id, "w:2", "The file is not audio.")
    other, _ = services.start(make_track(alice, title="other"))
    assert services.cancel(other)
    done, _ = services.start(make_track(alice, title="done"))
    services.claim(str(done.id), "w:3")
    assert services.complete(str(done.id), "w:3", [])
    stale, _ = services.start(make_track(alice, title="stale"))
    services.claim(str(stale.id), "w:4")
    Separation.objects.filter(id=stale.id).update(heartbeat=timezone.now() - timedelta(hours=1))
    assert services.recover_stale() == (1, 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "demixer.jobs"]
    assert lines[:5] == [
        f"separation {job_id}: queued",
        f"separation {job_id}: running (claim w:1)",
        f"separation {job_id}: queued again",
        f"separation {job_id}: running (claim w:2)",
        f"separation {job_id}: failed: The file is not audio.",
    ]
    assert f"separation {other.id}: cancelled" in lines
    assert f"separation {done.id}: done" in lines
    assert f"separation {stale.id}: queued again" in lines
    assert "separation: its worker stopped beating: 1 requeued, 0 failed" in lines
