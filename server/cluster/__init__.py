"""What nodes share, on Redis: the adapters behind the advisor core's interfaces (presence,
pages, bus: :mod:`advisors`), and the room directory, room store and audit streams.

Each interface is a :class:`typing.Protocol` with an in-memory implementation (one process, the
embedded default) and a Redis one (``serve --redis``); both pass the same test suite.
"""
