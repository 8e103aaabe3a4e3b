"""Which web pages may open a Socket.IO connection: our own, and the ones we list."""

import pytest

from realtime.server import origin_allowed


@pytest.fixture(autouse=True)
def site(settings):
    settings.ALLOWED_HOSTS = ["chat.example.com", "127.0.0.1"]
    settings.CHAT_ALLOWED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    return settings


def request_to(host: str, scheme: str = "wss", **headers: str) -> dict:
    """The environ Engine.IO builds; its `wsgi.url_scheme` is always http without a proxy."""
    return {
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "asgi.scope": {"scheme": scheme},
        **headers,
    }


@pytest.mark.parametrize(
    ("origin", "environ"),
    [
        ("https://chat.example.com", request_to("chat.example.com")),
        ("http://127.0.0.1:8000", request_to("127.0.0.1:8000", scheme="ws")),
        ("https://chat.example.com", request_to("chat.example.com", scheme="https")),
    ],
)
def test_the_sites_own_origin_is_allowed(origin, environ):
    assert origin_allowed(origin, environ)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://chat.example.com.evil.example",
        "https://chat.example.com:8443",
        "http://chat.example.com",
        "null",
        "",
    ],
)
def test_a_foreign_origin_is_refused(origin):
    assert not origin_allowed(origin, request_to("chat.example.com"))


def test_a_host_the_site_does_not_serve_is_refused_even_when_the_origin_matches_it():
    assert not origin_allowed("https://evil.example", request_to("evil.example"))


def test_an_origin_listed_in_chat_allowed_origins_is_allowed(site):
    site.CHAT_ALLOWED_ORIGINS = ["https://app.example.org"]
    assert origin_allowed("https://app.example.org", request_to("chat.example.com"))
    assert not origin_allowed("https://other.example.org", request_to("chat.example.com"))


def test_behind_a_tls_proxy_the_https_origin_is_the_sites_own(site):
    site.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    environ = request_to("chat.example.com", scheme="ws", HTTP_X_FORWARDED_PROTO="https")
    assert origin_allowed("https://chat.example.com", environ)
