"""Headless visitors that speak the real protocol (the QA simulator grows from here)."""

from simulator.client import ClientError, RoomClient

__all__ = ["ClientError", "RoomClient"]
