"""Offscreen software rendering of the layouts: a real picture, of the size asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from panda3d.core import Filename, PNMImage

from scenes.layout import load_layout
from scenes.render import CameraView, Figure, render_layout, sample_figures

LAYOUTS = ("private_room", "branch_lobby", "seminar_room")


def _read(path: Path) -> Any:
    image = PNMImage()
    assert image.read(Filename.from_os_specific(str(path))), path
    return image


def _pixels(image: Any, x0: int, y0: int, x1: int, y1: int, step: int = 2) -> list[float]:
    """Grey levels (0..1) of a region, sampled every ``step`` pixels."""
    return [image.get_bright(x, y) for y in range(y0, y1, step) for x in range(x0, x1, step)]


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


@pytest.mark.parametrize("name", LAYOUTS)
def test_render_is_a_png_of_the_requested_size_and_not_blank(name: str, tmp_path: Path) -> None:
    out = render_layout(name, tmp_path / f"{name}.png", width=320, height=180)
    assert out == tmp_path / f"{name}.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = _read(out)
    assert (image.get_x_size(), image.get_y_size()) == (320, 180)
    assert _variance(_pixels(image, 0, 0, 320, 180)) > 0.005
    centre = _pixels(image, 120, 60, 200, 120, step=1)
    assert len({round(v, 3) for v in centre}) > 10, "the centre is one flat colour"


def test_supersampling_keeps_the_requested_size(tmp_path: Path) -> None:
    out = render_layout("private_room", tmp_path / "ss.png", width=160, height=90, supersample=2)
    image = _read(out)
    assert (image.get_x_size(), image.get_y_size()) == (160, 90)


def test_avatars_and_charts_are_drawn(tmp_path: Path) -> None:
    layout = load_layout("private_room")
    camera = CameraView((0.0, 1.6, 2.9), (0.0, 1.3, -3.4), 45.0)
    bare = _read(render_layout("private_room", tmp_path / "bare.png", width=240, height=135,
                               camera=camera))  # fmt: skip
    figure = Figure((0.0, 0.0, 0.6), 180.0, (0.9, 0.1, 0.1), "Red")
    full = _read(
        render_layout(
            "private_room",
            tmp_path / "full.png",
            width=240,
            height=135,
            camera=camera,
            avatars=[figure, *sample_figures(layout)],
            charts=True,
        )
    )
    changed = [
        abs(bare.get_bright(x, y) - full.get_bright(x, y))
        for y in range(0, 135, 2)
        for x in range(0, 240, 2)
    ]
    assert sum(1 for d in changed if d > 0.05) > len(changed) // 20
    # The red figure stands between the camera and the screen, in the middle of the picture.
    red = [full.get_xel(x, y) for y in range(50, 110, 2) for x in range(100, 140, 2)]
    assert any(r > 0.45 and g < 0.2 and b < 0.2 for r, g, b in red)


def test_default_camera_comes_from_the_layout(tmp_path: Path) -> None:
    layout = load_layout("private_room")
    view = layout.views[0]
    explicit = CameraView(view.eye, view.target, view.fov_deg)
    a = render_layout("private_room", tmp_path / "a.png", width=96, height=54)
    b = render_layout("private_room", tmp_path / "b.png", width=96, height=54, camera=explicit)
    image_a, image_b = _read(a), _read(b)
    assert _pixels(image_a, 0, 0, 96, 54) == _pixels(image_b, 0, 0, 96, 54)


@pytest.mark.parametrize(("width", "height", "supersample"), [(0, 10, 1), (10, -1, 1), (8, 8, 9)])
def test_bad_sizes_are_refused(width: int, height: int, supersample: int, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        render_layout(
            "private_room", tmp_path / "x.png", width=width, height=height, supersample=supersample
        )
