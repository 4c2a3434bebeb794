"""Directories that hold what only the server may read: keys, the audit log, TOTP secrets,
recordings. Created owner-only (0700), whatever the umask, and tightened if found looser: a
file's own 0600 does not hide its name, size and change times from other local users."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """``path`` as a directory with mode 0700, and so each parent it had to create (``var/``
    for ``var/recordings``); parents that existed are left as they are."""
    missing: list[Path] = []
    at = path
    while not at.exists():
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is cut by the umask
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)  # made by an older release, or by hand
    return path
