"""Where webhooks may go: public addresses over http(s) only, unless the operator allows more.
Refused when a token is created (the form and the service) with a message that says why."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.html import escape

from demixer.api import tokens, webhook_targets
from demixer.api.models import ApiToken
from demixer.api.webhook_targets import WebhookRefused

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "fd00::1",  # ULA
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",  # noqa: S104
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",  # benchmarking
    "fec0::1",  # site-local
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_addresses_that_are_not_public_are_refused(address) -> None:
    assert webhook_targets.refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address) -> None:
    assert webhook_targets.refusal(ipaddress.ip_address(address)) is None


def test_the_operator_allows_networks_and_names(settings, fake_dns) -> None:
    fake_dns["hooks.internal"] = ["10.9.8.7"]
    with pytest.raises(WebhookRefused, match="private"):
        webhook_targets.check("http://hooks.internal/x")
    settings.WEBHOOK_ALLOW = ["hooks.internal", "127.0.0.0/8"]
    assert webhook_targets.check("http://hooks.internal/x").addresses == ("10.9.8.7",)
    assert webhook_targets.check("http://127.0.0.1:9000/").addresses == ("127.0.0.1",)
    assert webhook_targets.check("http://[::ffff:127.0.0.1]:9000/").port == 9000
    with pytest.raises(WebhookRefused, match="link-local"):
        webhook_targets.check("http://169.254.169.254/")
    settings.WEBHOOK_ALLOW = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured):
        webhook_targets.check("http://93.184.215.14/")


def test_a_checked_target_keeps_the_name_its_path_and_every_address(fake_dns) -> None:
    fake_dns["hooks.example"] = ["93.184.215.14", "2606:4700::1111"]
    target = webhook_targets.check("https://Hooks.Example./in?x=1#frag")
    assert target == webhook_targets.Target(
        "https", "hooks.example", 443, "/in?x=1", ("93.184.215.14", "2606:4700::1111")
    )


def test_a_name_with_one_internal_address_among_public_ones_is_refused(fake_dns) -> None:
    fake_dns["mixed.example"] = ["93.184.215.14", "127.0.0.1"]
    with pytest.raises(WebhookRefused, match=r"mixed\.example \(127\.0\.0\.1\).*loopback"):
        webhook_targets.check("https://mixed.example/")


SSRF_URLS = {
    "loopback": "http://127.0.0.1:9911/",
    "redis": "http://127.0.0.1:6379/",
    "loopback v6": "http://[::1]:8080/",
    "private": "http://10.0.0.5/hook",
    "private v6 (ULA)": "http://[fd12:3456::1]/",
    "link-local (metadata)": "http://169.254.169.254/latest/meta-data/",
    "mapped v6": "http://[::ffff:127.0.0.1]:9911/",
    "NAT64": "http://[64:ff9b::a9fe:a9fe]/",
    "name of loopback": "http://localhost:9911/",
    "decimal loopback": "http://2130706433:9911/",
    "credentials": "https://user:secret@93.184.215.14/hook",
    "scheme": "ftp://93.184.215.14/hook",
    "file scheme": "file:///etc/passwd",
    "port": "http://93.184.215.14:22/",
    "unresolvable": "https://no-such-host.invalid/",
}


@pytest.mark.django_db
@pytest.mark.parametrize("url", SSRF_URLS.values(), ids=SSRF_URLS.keys())
def test_a_token_cannot_be_created_for_an_internal_webhook(alice, alice_client, url) -> None:
    with pytest.raises(WebhookRefused) as refused:
        tokens.create(alice, "hooked", url)
    page = alice_client.post(reverse("api-tokens"), {"name": "hooked", "webhook_url": url})
    assert page.status_code == 200
    text = page.content.decode()
    # the form's own URL check speaks first for what it takes for no URL at all
    assert escape(str(refused.value)) in text or "Enter a valid URL." in text
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_form_says_why(alice_client) -> None:
    page = alice_client.post(
        reverse("api-tokens"), {"name": "x", "webhook_url": "http://169.254.169.254/latest/"}
    ).content.decode()
    assert "Webhooks cannot go to 169.254.169.254: a link-local address." in page
