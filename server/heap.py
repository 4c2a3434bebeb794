"""The heap a node builds before it serves, kept out of the garbage collector's way.

Before listening, a node loads its code, the experts' personas and product knowledge and builds
their retrieval index: a few hundred thousand objects that live as long as the process. The
cyclic collector's full collections walk every tracked object, and the pose path allocates
enough short-lived tuples to trigger one every few seconds under load, each walking all of
that again for nothing. ``gc.freeze()`` moves what exists at start-up to a permanent
generation the collector skips (CPython's own advice for servers that fork or run long); what
is allocated afterwards is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left behind, then freeze the rest; how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
