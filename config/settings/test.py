"""Test settings: the same stack, a fixed secret, fast password hashing."""

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import os
    import tempfile

    # A file rather than Django's shared-cache memory database: tests that run reps or loops
    # in threads need SQLite's real locking (WAL, busy timeout); a shared-cache database fails
    # a second writer at once with "database table is locked". One file per test process.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"leadline-test-{os.getpid()}.sqlite3")
    }
