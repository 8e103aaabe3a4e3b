"""Settings for the test run: the project's own, with a throwaway secret key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")

from chatsite.settings import *  # noqa: F403
