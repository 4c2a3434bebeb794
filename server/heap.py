"""The heap a node builds before it serves, kept out of the garbage collector's way.

Before listening, a node loads its code, the experts' personas and product knowledge and builds
their retrieval index: some 130,000 tracked objects that live as long as the process. A full
collection walks every one of them, and the event loop stops meanwhile: on the shared test
machine, 120-140 ms in which no member of any room gets a frame, about once in half a minute
under a load of 150 VR members (``wealthroom_gc_pause_seconds`` on ``/metrics``; with the heap
frozen the collector's share of the node's CPU went from about 4% to under 1%).
``gc.freeze()`` moves what exists at start-up to a permanent generation the collector skips;
what is allocated afterwards is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
