"""Coverage-guided fuzzing of the decoder with atheris (libFuzzer for Python), seeded with the
shared test vectors. Any exception other than ``ProtocolError`` is a crash libFuzzer reports.

    .venv/bin/pip install atheris
    .venv/bin/python fuzzing/atheris_decoder.py -atheris_runs=1000000 [corpus_dir]
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from protocol.codec import decode
    from protocol.errors import ProtocolError
    from protocol.messages import Direction


def test_one_input(data: bytes) -> None:
    for direction in (Direction.CLIENT, Direction.SERVER):
        with contextlib.suppress(ProtocolError):
            decode(data, direction)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
