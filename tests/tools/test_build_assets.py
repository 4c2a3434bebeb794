"""The room asset build (tools/build_assets.py): it writes exactly the committed files."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest

from tests.scenes.test_layouts import LAYOUTS


def test_assets_on_disk_are_what_build_assets_makes(tmp_path: Path) -> None:
    pytest.importorskip("trimesh")
    from tools import build_assets

    written = build_assets.write_all(tmp_path)
    assert len(written) == 2 * len(LAYOUTS)
    package = Path(str(resources.files("scenes")))
    for path in written:
        shipped = package / path.relative_to(tmp_path)
        assert shipped.read_bytes() == path.read_bytes(), (
            f"{shipped} is stale: run python -m tools.build_assets"
        )


def test_walkable_decomposition_covers_the_floor_less_obstacles() -> None:
    pytest.importorskip("trimesh")
    from tools.build_assets import walkable

    rects = walkable((0.0, 0.0, 4.0, 4.0), [(1.0, 1.0, 2.0, 2.0)], clearance=0.5)
    area = sum((c - a) * (d - b) for a, b, c, d in rects)
    assert math.isclose(area, 16.0 - 4.0)
    for a, b, c, d in rects:
        assert c <= 0.5 or a >= 2.5 or d <= 0.5 or b >= 2.5
