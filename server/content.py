"""The bank's content, picked up without a restart.

``WEALTHROOM_CONTENT_DIR`` holds any of the content files (``avatars.content.CONTENT_FILES``);
the package's own files stand in for those it lacks. The directory is looked at every
``content_poll_s`` (the files' sizes and modification times), and :meth:`Content.reload` is the
explicit trigger (``SIGHUP`` for ``run_server.py serve``). A new version is checked and its
retrieval index built on a thread, then swapped in: rooms opened afterwards take it, rooms
already open keep the one they started with. A bad file is refused with a log line naming the
file, line and field, and the version in use stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from avatars.content import CONTENT_FILES, ContentError, default_texts, parse_content
from avatars.expertise import Expertise, default_expertise
from avatars.retrieval import Retriever, default_retriever

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def read_texts(folder: Path | None) -> dict[str, str]:
    """Every content file's text: from ``folder`` where it has the file, else the package's.
    A file that cannot be read is refused like an invalid one."""
    texts = default_texts()
    if folder is None:
        return texts
    for name in CONTENT_FILES:
        path = folder / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ContentError(name, 1, "-", f"cannot read: {exc}") from None
    return texts


def fingerprint(folder: Path | None) -> Fingerprint:
    """What changes when a content file is written, added or removed."""
    if folder is None:
        return ()
    seen: list[tuple[str, int, int]] = []
    for name in CONTENT_FILES:
        try:
            st = (folder / name).stat()
        except OSError:
            continue
        seen.append((name, st.st_mtime_ns, st.st_size))
    return tuple(seen)


def build(texts: dict[str, str]) -> Expertise:
    """The checked content with its retrieval index: seconds of work, for a thread."""
    return indexed(parse_content(texts))


def indexed(expertise: Expertise) -> Expertise:
    """``expertise`` with its retrieval index built (the process's own for the package's)."""
    shared = default_expertise()
    if expertise.version == shared.version:
        return replace(shared, retriever=default_retriever())
    return replace(expertise, retriever=Retriever(expertise.knowledge))


class Content:
    """The version in use, and the reloads that replace it."""

    def __init__(self, folder: Path | None, *, poll_s: float = 2.0) -> None:
        self.folder = folder
        self.poll_s = poll_s
        # Checked at start: a node with bad content does not serve (the error says where).
        self._texts = read_texts(folder)
        self.current = parse_content(self._texts)
        self.refused: ContentError | None = None  # the last reload refused, until one succeeds
        self._seen = fingerprint(folder)
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> Expertise:
        """The version a room opened now takes."""
        return self.current

    async def prepare(self) -> None:
        """Builds the current version's retrieval index before the node serves."""
        self.current = await asyncio.to_thread(build, self._texts)

    def on_change(self, listener: Callable[[], None]) -> None:
        """``listener`` is called after every reload, taken or refused."""
        self._listeners.append(listener)

    async def reload(self) -> ContentError | None:
        """Reads and checks the content now; swaps it in if valid and new. Returns the error
        when refused."""
        async with self._lock:
            self._seen = fingerprint(self.folder)
            try:
                texts = await asyncio.to_thread(read_texts, self.folder)
                checked = await asyncio.to_thread(parse_content, texts)
            except ContentError as exc:
                self.refused = exc
                log.error("content refused: %s; keeping version %s", exc, self.current.version)
                error: ContentError | None = exc
            else:
                self.refused = None
                error = None
                if checked.version != self.current.version:
                    # The index takes seconds: rooms opened meanwhile take the version in use.
                    built = await asyncio.to_thread(indexed, checked)
                    was = self.current.version
                    log.info("content version %s in use (was %s)", built.version, was)
                    self.current = built
            for listener in self._listeners:
                listener()
            return error

    async def watch(self) -> None:
        """Reloads whenever the directory's files change; runs until cancelled."""
        if self.folder is None:
            return
        while True:
            await asyncio.sleep(self.poll_s)
            if fingerprint(self.folder) != self._seen:
                try:
                    await self.reload()
                except Exception:
                    # The watcher must outlive a surprise; the version in use stays.
                    log.exception("content reload failed")
