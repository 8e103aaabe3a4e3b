"""A connection's person: its Django session when the browser sent a live one."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from realtime.connection import connection_from_environ
from rooms.identity import SESSION_USERNAME_KEY, connection_person_key, session_person_key

pytestmark = pytest.mark.django_db(transaction=True)  # sessions are read in another thread


def environ_with(cookie: str) -> dict:
    return {"HTTP_COOKIE": cookie}


@sync_to_async
def session(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    return store.session_key


async def test_a_live_session_is_the_person_and_fixes_their_name():
    key = await session(**{SESSION_USERNAME_KEY: "Ana"})
    cookie = f"{settings.SESSION_COOKIE_NAME}={key}"
    connection = await connection_from_environ("sid-1", environ_with(cookie), address="1.2.3.4")
    assert (connection.person_key, connection.username) == (session_person_key(key), "Ana")


async def test_a_session_without_a_name_is_the_person_with_no_name_fixed():
    key = await session()
    cookie = f"{settings.SESSION_COOKIE_NAME}={key}"
    connection = await connection_from_environ("sid-1", environ_with(cookie), address="")
    assert (connection.person_key, connection.username) == (session_person_key(key), None)


@pytest.mark.parametrize("cookie", ["unknown-session-key", "expired", ""])
async def test_a_missing_or_expired_session_is_no_proof(cookie):
    if cookie == "expired":
        cookie = await session(**{SESSION_USERNAME_KEY: "Ana"})
        past = timezone.now() - timedelta(seconds=1)
        await sync_to_async(Session.objects.filter(session_key=cookie).update)(expire_date=past)
    header = f"{settings.SESSION_COOKIE_NAME}={cookie}" if cookie else "other=1"
    connection = await connection_from_environ("sid-1", environ_with(header), address="")
    assert (connection.person_key, connection.username) == (connection_person_key("sid-1"), None)


async def test_a_malformed_cookie_header_is_no_session():
    connection = await connection_from_environ("sid-1", environ_with('a="b'), address="")
    assert connection.person_key == connection_person_key("sid-1")
