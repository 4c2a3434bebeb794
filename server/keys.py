"""Where the keys come from: settings, else a per-checkout development key in ``var/``.

Two keys, never the same: the token signing key (``WEALTHROOM_SECRET``) and the audit key
(``WEALTHROOM_AUDIT_KEY``) that MACs the audit chain and signs its checkpoints. Whoever may
mint tokens need not be able to rewrite the audit trail, and the audit key can be handed to
a compliance officer who verifies the log without letting them mint tokens.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from server.config import Settings
from server.errors import ConfigError
from server.private_dir import private_dir

log = logging.getLogger(__name__)

MIN_KEY_BYTES = 32


def load_secret(settings: Settings) -> bytes:
    if settings.secret is not None:
        value = settings.secret.get_secret_value().encode()
        if len(value) < MIN_KEY_BYTES:
            raise ConfigError("WEALTHROOM_SECRET must be at least 32 bytes")
        return value
    path = settings.secret_file
    if _create(path):
        log.warning(
            "created a development signing key at %s; set WEALTHROOM_SECRET in production", path
        )
    value = path.read_text().strip().encode()
    if len(value) < MIN_KEY_BYTES:
        raise ConfigError(f"signing key in {path} is shorter than 32 bytes")
    return value


def load_audit_key(settings: Settings, *, create: bool = True) -> bytes:
    """The audit chain's key. ``create=False`` (verifying a log) never makes one up: a new key
    would only say that every entry is forged."""
    value = _configured(settings.audit_key)
    path = settings.audit_key_file
    if value is None:
        if not path.exists() and not create:
            raise ConfigError(
                f"no audit key: set WEALTHROOM_AUDIT_KEY, or WEALTHROOM_AUDIT_KEY_FILE if the"
                f" server's key is not at {path}"
            )
        if _create(path):
            mode = "every node must share it" if settings.redis_url else "keep it with the log"
            log.warning("created an audit key at %s (%s); set WEALTHROOM_AUDIT_KEY", path, mode)
        value = path.read_text().strip().encode()
    if len(value) < MIN_KEY_BYTES:
        raise ConfigError(f"the audit key must be at least {MIN_KEY_BYTES} bytes")
    token_key = _configured(settings.secret)
    if token_key is None and settings.secret_file.exists():
        token_key = settings.secret_file.read_text().strip().encode()
    if token_key is not None and secrets.compare_digest(token_key, value):
        raise ConfigError("the audit key must not be the token signing key (WEALTHROOM_SECRET)")
    return value


def _configured(value: SecretStr | None) -> bytes | None:
    return None if value is None else value.get_secret_value().encode()


def _create(path: Path) -> bool:
    """Make a random key at ``path`` unless one is there; True if this call made it.

    Written to a private temporary file and linked into place, so that the key never exists
    with looser permissions nor half written, and two processes starting at once agree on it.
    """
    if path.exists():
        return False
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False  # another process made it first: use theirs
    finally:
        tmp.unlink()
