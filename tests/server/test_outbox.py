"""A frame framed once for a group is the bytes the library writes for each member."""

from __future__ import annotations

import pytest
from websockets.frames import Frame
from websockets.protocol import Protocol, Side, State

from server.outbox import framed


@pytest.mark.parametrize("size", [0, 1, 125, 126, 420, 65_535, 65_536, 300_000])
def test_framed_is_what_the_library_writes_for_a_binary_message(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    server = Protocol(Side.SERVER, state=State.OPEN)
    server.send_binary(data)
    assert b"".join(server.data_to_send()) == framed(data)
    # And a client reads it back as that message.
    client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    client.receive_data(framed(data))
    (frame,) = client.events_received()
    assert isinstance(frame, Frame)
    assert frame.data == data
