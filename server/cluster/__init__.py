"""What nodes share: advisor presence, pages waiting for an advisor, cross-node events.

Each is a :class:`typing.Protocol` with an in-memory implementation (one process, the embedded
default) and a Redis one (``serve --redis``); both pass the same test suite.
"""
