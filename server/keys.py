"""Where the token signing key comes from: settings, else a per-checkout development key."""

from __future__ import annotations

import logging
import os
import secrets

from server.config import Settings
from server.errors import ConfigError

log = logging.getLogger(__name__)


def load_secret(settings: Settings) -> bytes:
    if settings.secret is not None:
        value = settings.secret.get_secret_value().encode()
        if len(value) < 32:
            raise ConfigError("WEALTHROOM_SECRET must be at least 32 bytes")
        return value
    path = settings.secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only, atomically: the key never exists with looser permissions.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        log.warning(
            "created a development signing key at %s; set WEALTHROOM_SECRET in production", path
        )
    value = path.read_text().strip().encode()
    if len(value) < 32:
        raise ConfigError(f"signing key in {path} is shorter than 32 bytes")
    return value
