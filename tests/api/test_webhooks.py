"""Webhooks: when a job a token started ends, a JSON POST signed with the token's webhook
secret reaches its URL (a server on loopback here); a failed delivery is queued again later."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from django.utils import timezone

from demixer.api import tokens, webhooks
from demixer.api.models import ApiToken, JobOrigin, WebhookDelivery
from demixer.separation import services
from demixer.separation.models import Separation, Status
from tests.api.conftest import token_client
from tests.web.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    location: ClassVar[str] = ""  # sent with a 3xx answer
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.answers.pop(0) if self.answers else 204)
        if self.location:
            self.send_header("Location", self.location)
        self.end_headers()

    do_GET = do_POST  # a followed redirect would come as a GET

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], wrap=None) -> Iterator[int]:
    """``handler`` served on 127.0.0.1 (through ``wrap``, e.g. TLS); yields the port."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    if wrap is not None:
        server.socket = wrap(server.socket)
    # shutdown() waits for the loop's next poll: 0.5 s by default, at the end of every test
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listener() -> Iterator[tuple[int, type[Receiver]]]:
    """A receiver on loopback, which webhooks may not reach unless the operator allows it."""

    class Listener(Receiver):
        answers: ClassVar[list[int]] = []
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    with serving(Listener) as port:
        yield port, Listener


@pytest.fixture
def receiver(settings, listener) -> tuple[str, type[Receiver]]:
    """The loopback receiver, let through by the operator's allow list."""
    settings.WEBHOOK_ALLOW = ["127.0.0.1"]
    port, handler = listener
    return f"http://127.0.0.1:{port}/hook", handler


def deliver_now(job_id: str, status: str, token_id: int, attempt: int = 1) -> str:
    """One delivery as the webhook lane makes it: a queued row, claimed, then run."""
    delivery = WebhookDelivery.objects.create(
        token_id=token_id, separation_id=job_id, event=status, attempt=attempt
    )
    claim = "test-host:1:abcd"
    assert webhooks.JOBS.claim(delivery.id, claim)
    return webhooks.deliver(webhooks.JOBS.rows().get(id=delivery.id), claim)


def queued_job(alice, make_done_separation) -> Separation:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.QUEUED)
    return job


def test_a_job_started_by_a_token_is_told_to_its_webhook_signed(
    alice, make_done_separation, receiver
) -> None:
    url, handler = receiver
    token, raw = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    again = token_client(raw).post(
        f"/api/v1/tracks/{job.track.id}/separations/",
        {"mode": "4"},
        content_type="application/json",
    )
    assert again.json()["separation"]["id"] == str(job.id)  # the job these options have
    assert JobOrigin.objects.get(separation=job).token == token
    assert token_client(raw).post(f"/api/v1/separations/{job.id}/cancel/").status_code == 200
    run_worker()
    [(headers, body)] = handler.received
    expected = hmac.new(
        token.webhook_secret.encode(),
        headers["X-Demixer-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Demixer-Signature"] == f"sha256={expected}"
    data = json.loads(body)
    assert data["event"] == "separation.ended"
    assert data["separation"] == {
        "id": str(job.id),
        "status": "cancelled",
        "url": f"/api/v1/separations/{job.id}/",
    }


def test_a_failed_delivery_is_tried_again_later(alice, make_done_separation, receiver) -> None:
    url, handler = receiver
    handler.answers = [500]
    token, _ = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    JobOrigin.objects.create(separation=job, token=token)
    services.cancel(job)
    run_worker()
    assert len(handler.received) == 1
    first = WebhookDelivery.objects.get(attempt=1)
    assert (first.status, first.error) == (Status.FAILED, "500")
    retry = WebhookDelivery.objects.get(status=Status.QUEUED)
    assert retry.attempt == 2  # the second attempt
    assert retry.run_after > timezone.now()  # after a back-off, not at once
    assert not webhooks.JOBS.queued().exists()  # so not due yet


def test_no_webhook_for_jobs_of_the_site_or_of_revoked_tokens(
    alice, alice_client, make_done_separation, receiver
) -> None:
    url, handler = receiver
    token, _ = tokens.create(alice, "hooked", url)
    plain = queued_job(alice, make_done_separation)
    services.cancel(plain)  # started on the site: no origin
    other = make_done_separation(alice, title="Other")
    Separation.objects.filter(id=other.id).update(status=Status.QUEUED)
    JobOrigin.objects.create(separation=other, token=token)
    tokens.revoke(alice, token.id)
    services.cancel(other)
    run_worker()
    assert handler.received == []


def test_a_job_failed_by_the_stale_recovery_is_told_too(
    alice, make_done_separation, receiver, settings, media_dir
) -> None:
    """A job whose worker stopped beating once too often ends failed without any worker to say
    so: the recovery itself sends the webhook and removes the dead worker's pieces."""
    url, handler = receiver
    _, raw = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    token_client(raw).post(
        f"/api/v1/tracks/{job.track.id}/separations/",
        {"mode": "4"},
        content_type="application/json",
    )
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING, attempts=settings.SEPARATION_MAX_ATTEMPTS, heartbeat=None
    )
    live = media_dir / job.storage_dir() / "live" / "dead-claim"
    live.mkdir(parents=True)
    (live / "00000.f32").write_bytes(b"\0" * 8)  # a piece its dead worker published
    assert services.recover_stale() == (0, 1)
    assert not live.exists()
    run_worker()  # delivers the queued webhook
    [(_, body)] = handler.received
    assert json.loads(body)["separation"]["status"] == "failed"


def _ended_job(alice, make_done_separation, url: str, fake_dns) -> tuple[Separation, int]:
    """A job whose token was made with a public webhook URL, then pointed at ``url`` (made
    before the check existed, or its name resolves elsewhere now)."""
    fake_dns["hooks.example"] = ["93.184.215.14"]
    token, _ = tokens.create(alice, "hooked", "https://hooks.example/in")
    ApiToken.objects.filter(id=token.id).update(webhook_url=url)
    return make_done_separation(alice), token.id


INTERNAL = {
    "loopback": "http://127.0.0.1:{port}/hook",
    "mapped v6": "http://[::ffff:127.0.0.1]:{port}/hook",
    "name of loopback": "http://localhost:{port}/hook",
    "name now of loopback": "http://hooks.example:{port}/hook",
    "credentials": "http://user:secret@127.0.0.1:{port}/hook",
    "scheme": "gopher://127.0.0.1:{port}/hook",
    "private": "http://10.0.0.5:{port}/hook",
    "link-local": "http://169.254.169.254/latest/meta-data/",
}


@pytest.mark.parametrize("url", INTERNAL.values(), ids=INTERNAL.keys())
def test_a_delivery_to_an_internal_address_is_refused_and_not_tried_again(
    alice, make_done_separation, listener, fake_dns, url
) -> None:
    port, handler = listener
    job, token_id = _ended_job(alice, make_done_separation, url.format(port=port), fake_dns)
    fake_dns["hooks.example"] = ["127.0.0.1"]  # what it resolves to at delivery
    result = deliver_now(str(job.id), "done", token_id, 1)
    assert result.startswith("refused ("), result
    assert handler.received == []
    assert not WebhookDelivery.objects.filter(status=Status.QUEUED).exists()  # no retry


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    alice, make_done_separation, receiver
) -> None:
    """Even to an address the operator allows, a redirect is never followed."""
    url, handler = receiver

    class Target(Receiver):
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    with serving(Target) as target_port:
        handler.answers = [302]
        handler.location = f"http://127.0.0.1:{target_port}/secret"
        token, _ = tokens.create(alice, "hooked", url)
        job = make_done_separation(alice)
        result = deliver_now(str(job.id), "done", token.id, 1)
    assert result.startswith("failed (302"), result
    assert len(handler.received) == 1 and Target.received == []
    retry = WebhookDelivery.objects.get(status=Status.QUEUED)
    assert retry.attempt == 2


def test_a_delivery_connects_to_the_address_it_checked(
    alice, make_done_separation, listener, fake_dns, settings, monkeypatch
) -> None:
    """One resolution per delivery; the socket goes to that address; the Host header keeps
    the name."""
    port, handler = listener
    settings.WEBHOOK_ALLOW = ["127.0.0.0/8"]  # the address, not the name
    fake_dns["hooks.example"] = ["127.0.0.1"]
    token, _ = tokens.create(alice, "hooked", f"http://hooks.example:{port}/in?k=1")
    job = make_done_separation(alice)
    lookups: list[str] = []
    resolve = socket.getaddrinfo

    def counted(host, *args, **kwargs):
        lookups.append(host)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    assert deliver_now(str(job.id), "done", token.id, 1) == "delivered (204)"
    # the name once; then only the checked address itself (a literal: no DNS query)
    assert lookups == ["hooks.example", "127.0.0.1"]
    [(headers, _)] = handler.received
    assert headers["Host"] == f"hooks.example:{port}"


def _tls(tmp_path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A CA (its certificate written to a file) and a server context with a certificate for
    ``name`` that it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert("test CA", ca_key, "test CA", ca_key, ca=True)
    server_cert = cert(name, key, "test CA", ca_key, ca=False)
    ca_file, chain = tmp_path / "ca.pem", tmp_path / "server.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ca_file, context


def test_https_checks_the_certificate_against_the_name_not_the_address(
    alice, make_done_separation, fake_dns, settings, monkeypatch, tmp_path
) -> None:
    settings.WEBHOOK_ALLOW = ["127.0.0.1"]
    fake_dns["hooks.example"] = ["127.0.0.1"]
    fake_dns["other.example"] = ["127.0.0.1"]
    ca_file, context = _tls(tmp_path, "hooks.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the CA the client trusts
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Secure(Receiver):
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    job = make_done_separation(alice)
    wrap = partial(context.wrap_socket, server_side=True)
    with serving(Secure, wrap) as port:
        good, _ = tokens.create(alice, "good", f"https://hooks.example:{port}/in")
        wrong, _ = tokens.create(alice, "wrong", f"https://other.example:{port}/in")
        assert deliver_now(str(job.id), "done", good.id, 1) == "delivered (204)"
        failed = deliver_now(str(job.id), "done", wrong.id, 1)
    assert names[0] == "hooks.example"
    assert failed.startswith("failed (") and "certificate" in failed.lower(), failed
    assert len(Secure.received) == 1
