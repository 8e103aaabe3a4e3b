"""Settings for the test run: the project's own, with a throwaway secret key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")

from chatsite.settings import *  # noqa: F403

# Unit tests write to their stores directly; an in-memory tail of history would hide that.
# Tests of the tail ask for one (the `history_tail` fixture); the live servers keep theirs.
CHAT_HISTORY_CACHE_BYTES = 0
