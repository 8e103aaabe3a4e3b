"""Who a person is: the Django session when there is one, otherwise the single connection."""

import hashlib

SESSION_USERNAME_KEY = "devrooms_username"


def session_person_key(session_key: str) -> str:
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def connection_person_key(connection: str) -> str:
    return f"connection:{connection}"


def is_sessionless(person_key: str) -> bool:
    return person_key.startswith("connection:")
