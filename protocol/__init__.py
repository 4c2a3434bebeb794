"""Wire protocol v1: message catalogue, strict msgpack codec, limits, codes, quantisation.

Pure: no I/O, no clock. See SPEC.md in this folder for the normative description.
"""

from protocol.codec import decode, encode, pack, unpack
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import ProtocolError
from protocol.limits import MAX_FRAME_BYTES, PROTOCOL_VERSION, SUBPROTOCOL
from protocol.messages import Direction

__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "SUBPROTOCOL",
    "CloseCode",
    "Direction",
    "ErrorCode",
    "ProtocolError",
    "decode",
    "encode",
    "pack",
    "unpack",
]
