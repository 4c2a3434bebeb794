"""Headless visitors that speak the real protocol, and the QA simulator built on them.

``client.RoomClient`` is the protocol client; ``run_server.py simulate`` (``cli.py``) plays the
scenarios in ``scenarios/`` with bots (``bot.py``) in a room in this process (``virtual.py``) or
over sockets (``sockets.py``), judges the run (``verdict.py``) and reports it (``report.py``).
"""

from simulator.client import ClientError, RoomClient

__all__ = ["ClientError", "RoomClient"]
