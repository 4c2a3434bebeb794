"""Pictures of a room without a GPU or a display: Panda3D's software renderer, offscreen.

    from scenes.render import Figure, render_layout
    ann = Figure((0.0, 0.0, 1.1), 0.0, (0.2, 0.3, 0.6), "Ann")
    render_layout("private_room", "room.png", avatars=[ann])

The room is loaded from its ``.glb`` with panda3d-gltf, drawn by ``p3tinydisplay`` into an
offscreen buffer (no ShowBase, no window, no X server) and written as PNG. tinydisplay has no
shaders, so glTF's PBR materials are turned into classic lit materials (diffuse from the
base colour) and the room gets a fixed light rig: ambient, a warm key light, a cool fill and a
bounce from below so that ceilings are not black.

Positions are the wire's: metres, Y up, yaw 0 looking along -Z. Avatars are the rigged figure
the browser draws too (``scenes/avatar_rig.py``), seated when placed on a seat.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from panda3d.core import (
    AmbientLight,
    Camera,
    DirectionalLight,
    Filename,
    FrameBufferProperties,
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexData,
    GeomVertexFormat,
    GeomVertexWriter,
    GraphicsEngine,
    GraphicsOutput,
    GraphicsPipe,
    GraphicsPipeSelection,
    LColor,
    LVector3,
    NodePath,
    PerspectiveLens,
    PNMImage,
    Texture,
    WindowProperties,
)
from panda3d.core import Quat as PandaQuat

from protocol.quantise import Vec3, yaw_quat
from scenes.assets import room_model
from scenes.avatar_rig import Rig
from scenes.layout import Layout, Screen, load_layout
from scenes.materials import classic_material, replace_materials
from scenes.name_tags import name_tag

RGB = tuple[float, float, float]


class CameraView(NamedTuple):
    eye: Vec3
    target: Vec3
    fov_deg: float = 50.0  # vertical


class Figure(NamedTuple):
    """An avatar to draw: feet at ``pos``; on a seat's position it sits."""

    pos: Vec3
    yaw_deg: float
    rgb: RGB
    label: str = ""
    skin: RGB | None = None  # None: picked from the label, the same every time
    hair: RGB | None = None
    mouth: float = 0.0  # 0 closed .. 1 wide open: a speaking expert's level
    ai_label: str = ""  # a digital expert's AI label, drawn under its name at all times
    hairstyle: str = "short"  # protocol.messages.HAIRSTYLES; "none" draws no hair
    build: str = "average"  # slim, average, broad
    height_cm: int = 170
    bottom: RGB | None = None  # None: a darker shade of the jacket
    accent: RGB | None = None
    face: str = "oval"  # protocol.messages.FACES


SKINS: tuple[RGB, ...] = (
    (0.87, 0.71, 0.6),
    (0.72, 0.53, 0.4),
    (0.55, 0.38, 0.27),
    (0.93, 0.8, 0.7),
)
HAIRS: tuple[RGB, ...] = (
    (0.2, 0.15, 0.12),
    (0.45, 0.33, 0.2),
    (0.1, 0.09, 0.09),
    (0.6, 0.58, 0.55),
)
BACKGROUND = (0.12, 0.12, 0.14, 1.0)
VIEWER_FILL: RGB = (0.3, 0.3, 0.3)
SEAT_SNAP_M = 0.15
# Name tags: their bottom edge this far above the head's centre (5 cm clear of the hair), and
# an em of 0.04 rad, which is 12 pixels in a 640x360 thin view: Chinese stays legible.
TAG_ABOVE_HEAD_M = 0.2
TAG_EM_PER_M = 0.04
TAG_EM_MIN_M, TAG_EM_MAX_M = 0.05, 0.6


def render_layout(
    layout_name: str,
    out_path: str | Path,
    *,
    width: int = 1280,
    height: int = 720,
    camera: CameraView | None = None,
    avatars: Iterable[Figure | tuple[Vec3, float, RGB, str]] = (),
    supersample: int = 1,
    charts: bool = False,
) -> Path:
    """Draw layout ``layout_name`` to a ``width`` x ``height`` PNG at ``out_path``.

    ``camera`` defaults to the layout's ``default`` view. ``supersample`` > 1 draws that many
    times larger and shrinks, which smooths the edges (tinydisplay has no antialiasing).
    ``charts`` puts illustrative charts on the wall screens, as a client would.
    """
    if width < 1 or height < 1 or not 1 <= supersample <= 4:
        raise ValueError("width and height must be positive and supersample within 1..4")
    layout = load_layout(layout_name)
    scene, yup = stage(layout, charts=charts)
    view = camera or default_camera(layout)
    for figure in avatars:
        shown = figure if isinstance(figure, Figure) else Figure(*figure)
        _figure(layout, shown, view.eye).reparent_to(yup)
    image = _draw(scene, yup, view, width * supersample, height * supersample)
    if supersample > 1:
        small = PNMImage(width, height, 3)
        small.box_filter_from(0.5 * supersample, image)
        image = small
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.write(Filename.from_os_specific(str(out))):
        raise OSError(f"could not write {out}")
    return out


def default_camera(layout: Layout) -> CameraView:
    """The layout's ``default`` view, else a corner of the room looking across it."""
    for view in layout.views:
        if view.id == "default":
            return CameraView(view.eye, view.target, view.fov_deg)
    lo, hi = layout.bounds_min, layout.bounds_max
    eye = (hi[0] - 0.5, min(hi[1] - 0.2, 2.2), hi[2] - 0.5)
    return CameraView(eye, ((lo[0] + hi[0]) / 2, 1.0, (lo[2] + hi[2]) / 2), 55.0)


# --- the room ------------------------------------------------------------------------------------


def stage(layout: Layout, *, charts: bool = False) -> tuple[NodePath, NodePath]:
    """The lit room and, under it, the node that figures go under (glTF frame: Y up)."""
    scene = NodePath("render")
    _room(layout).reparent_to(scene)
    _light_rig(scene)
    yup = scene.attach_new_node("y-up")
    yup.set_p(90)  # glTF (x, y, z) -> Panda3D (x, -z, y), as in scenes/scene.py
    if charts:
        for screen in layout.screens:
            _chart(screen).reparent_to(yup)
    return scene, yup


def _room(layout: Layout) -> NodePath:
    # A private copy: its materials are rewritten for the software renderer.
    room = room_model(layout.name).copy_to(NodePath(layout.name))
    replace_materials(room, classic_material)
    return room


def _panda(v: Sequence[float]) -> Any:
    """A glTF direction or point in Panda3D's Z-up world."""
    return LVector3(v[0], -v[2], v[1])


def _light_rig(scene: NodePath) -> None:
    ambient = AmbientLight("ambient")
    ambient.set_color(LColor(0.5, 0.49, 0.47, 1))
    scene.set_light(scene.attach_new_node(ambient))
    # Directions are where the light travels, in glTF coordinates.
    for name, colour, direction in (
        ("key", (0.58, 0.55, 0.5), (0.45, -0.8, -0.4)),
        ("fill", (0.22, 0.24, 0.28), (-0.6, -0.35, 0.7)),
        ("bounce", (0.38, 0.36, 0.33), (0.1, 1.0, 0.2)),
    ):
        light = DirectionalLight(name)
        light.set_color(LColor(*colour, 1))
        light.set_direction(_panda(direction).normalized())
        scene.set_light(scene.attach_new_node(light))


# --- drawing -------------------------------------------------------------------------------------


@cache
def software_pipe() -> Any:
    # Named, not via load-display: the default tinydisplay pipe on Linux wants an X server.
    pipe = GraphicsPipeSelection.get_global_ptr().make_pipe(
        "TinyOffscreenGraphicsPipe", "p3tinydisplay"
    )
    if pipe is None or not pipe.is_valid():
        raise RuntimeError("Panda3D's software renderer (p3tinydisplay) is not available")
    return pipe


def _draw(scene: NodePath, figures: NodePath, view: CameraView, width: int, height: int) -> Any:
    engine = GraphicsEngine(software_pipe())
    try:
        buffer, texture = offscreen(engine, width, height)
        node = viewer_camera(scene, figures)
        aim(node, view, width / height)
        buffer.make_display_region().set_camera(node)
        engine.render_frame()
        engine.render_frame()  # the first frame only prepares; the copy lands on the second
        image = PNMImage()
        if not texture.store(image):
            raise RuntimeError("the renderer produced no image")
        return image
    finally:
        engine.remove_all_windows()


def offscreen(engine: Any, width: int, height: int) -> tuple[Any, Any]:
    """Open a ``width`` x ``height`` buffer on ``engine``: (buffer, texture each frame lands in).

    The engine must have been made on the software pipe (``GraphicsEngine(software_pipe())``).
    """
    pipe = software_pipe()
    fb = FrameBufferProperties()
    fb.set_rgb_color(True)
    fb.set_color_bits(24)
    fb.set_depth_bits(24)
    buffer = engine.make_output(
        pipe, "render", 0, fb, WindowProperties.size(width, height), GraphicsPipe.BF_refuse_window
    )
    if buffer is None:
        raise RuntimeError("could not open an offscreen buffer")
    buffer.set_clear_color(LColor(*BACKGROUND))
    texture = Texture("frame")
    buffer.add_render_texture(texture, GraphicsOutput.RTM_copy_ram)
    return buffer, texture


def viewer_camera(scene: NodePath, figures: NodePath) -> NodePath:
    """A camera in ``scene`` (aim it with :func:`aim`) that lights ``figures`` from the front.

    The room's rig lights the room; figures in it are small and turned every way, and most
    wear dark suits. A light travelling with the camera lights the side of them that is seen,
    as a portrait photographer's fill does, and leaves the room as it was.
    """
    node = scene.attach_new_node(Camera("camera", PerspectiveLens()))
    fill = DirectionalLight("viewer-fill")
    fill.set_color(LColor(*VIEWER_FILL, 1))
    fill.set_direction(LVector3(0, 1, 0))  # along the camera's view
    figures.set_light(node.attach_new_node(fill))
    return node


def aim(node: NodePath, view: CameraView, aspect: float) -> None:
    """Point camera ``node`` (a child of the scene root) as ``view`` says."""
    lens = node.node().get_lens()
    vfov = view.fov_deg
    hfov = math.degrees(2 * math.atan(math.tan(math.radians(vfov) / 2) * aspect))
    lens.set_fov(hfov, vfov)
    lens.set_near_far(0.2, 120.0)  # a far near plane: tinydisplay's depth buffer is coarse
    node.set_pos(_panda(view.eye))
    node.look_at(_panda(view.target), LVector3(0, 0, 1))


# --- figures -------------------------------------------------------------------------------------


def _figure(layout: Layout, figure: Figure, eye: Vec3) -> NodePath:
    seat = seat_at(layout, figure.pos)
    avatar = Avatar(figure, seated=seat is not None)
    avatar.pose(figure, seat.pos if seat is not None else figure.pos, eye)
    return avatar.root


def seat_at(layout: Layout, pos: Vec3) -> Any:
    """The seat a figure at ``pos`` sits on, if any."""
    for seat in layout.seats:
        if math.dist((seat.pos[0], seat.pos[2]), (pos[0], pos[2])) <= SEAT_SNAP_M:
            return seat
    return None


Look = tuple[Figure, bool]


class Avatar:
    """A figure's nodes, built once per look and then only re-posed, frame after frame.

    The rigged figure (``scenes/avatar_rig.py``) the browser draws too, in the figure's colours,
    hairstyle, build and height, standing or seated on its chair.
    """

    def __init__(self, figure: Figure, *, seated: bool) -> None:
        self.look = look(figure, seated=seated)
        self.seated = seated
        self.root = NodePath(f"avatar:{figure.label or 'figure'}")
        # Skin and hair vary from figure to figure, but the same figure always looks the same.
        pick = zlib.crc32(f"{figure.label}{figure.rgb}".encode())
        colours = {
            "top": figure.rgb,
            "bottom": figure.bottom or _trousers(figure.rgb),
            "accent": figure.accent or ACCENT,
            "skin": figure.skin or SKINS[pick % len(SKINS)],
            "hair": figure.hair or HAIRS[pick // len(SKINS) % len(HAIRS)],
        }
        self.rig = Rig(
            colours,
            hairstyle=figure.hairstyle,
            build=figure.build,
            height_cm=figure.height_cm,
            seated=seated,
            face=figure.face,
        )
        self.rig.root.reparent_to(self.root)
        self.top = self.rig.eye_height(seated=seated) + TAG_ABOVE_HEAD_M
        self.label: NodePath | None = None
        if figure.label or figure.ai_label:
            self.label = name_tag(figure.label, figure.ai_label)
            self.label.reparent_to(self.root)
            self.label.set_pos(0, self.top, 0)

    def pose(self, figure: Figure, at: Vec3, eye: Vec3) -> None:
        """Put the figure at ``at`` (its seat's position when seated), facing its yaw."""
        x, y, z = at
        self.root.set_pos(x, y, z)
        qx, qy, qz, qw = yaw_quat(math.radians(figure.yaw_deg))
        self.root.set_quat(PandaQuat(qw, qx, qy, qz))
        if self.label is not None:
            # Scaled with distance, so that near and far labels read the same size.
            distance = math.dist(eye, (x, y + self.top, z))
            self.label.set_scale(min(max(TAG_EM_PER_M * distance, TAG_EM_MIN_M), TAG_EM_MAX_M))
        self.rig.open_mouth(figure.mouth)


def look(figure: Figure, *, seated: bool) -> Look:
    """What an :class:`Avatar` is built from: the figure without its pose (where it stands,
    which way it faces, how far its mouth is open), and whether it sits."""
    return figure._replace(pos=(0.0, 0.0, 0.0), yaw_deg=0.0, mouth=0.0), seated


ACCENT: RGB = (0.78, 0.66, 0.32)


def _trousers(rgb: RGB) -> RGB:
    return (rgb[0] * 0.35 + 0.05, rgb[1] * 0.35 + 0.05, rgb[2] * 0.35 + 0.07)


def _chart(screen: Screen) -> NodePath:
    """Bars and a rising line on a screen, drawn unlit so that they glow like a display."""
    width, height = screen.size
    mesh = _Mesh("chart")
    colours: list[tuple[int, RGB]] = []

    def quad(x0: float, y0: float, x1: float, y1: float, rgb: RGB) -> None:
        # The screen faces -Z in its own frame, so its viewer's right is -X.
        colours.append((mesh.rect(-x1 * width, y0 * height, -x0 * width, y1 * height), rgb))

    quad(-0.44, 0.36, -0.12, 0.4, (0.86, 0.8, 0.68))  # a title, as a bar
    quad(-0.44, 0.3, -0.24, 0.32, (0.5, 0.58, 0.7))
    for i in range(4):
        quad(-0.44, -0.36 + i * 0.18, 0.44, -0.355 + i * 0.18, (0.22, 0.3, 0.42))
    bars = (0.3, 0.42, 0.38, 0.5, 0.58, 0.66)
    for i, h in enumerate(bars):
        x = -0.43 + i * 0.065
        quad(x, -0.36, x + 0.042, -0.36 + h, (0.79, 0.64, 0.36) if i % 2 else (0.62, 0.5, 0.3))
    line = (-0.2, -0.12, -0.15, 0.0, -0.04, 0.05, 0.02, 0.14, 0.1, 0.22, 0.26)
    for i in range(len(line) - 1):
        x0, x1 = 0.04 + i * 0.04, 0.04 + (i + 1) * 0.04
        y0, y1 = line[i], line[i + 1]
        for k in range(4):  # a thick line as stacked slivers: tinydisplay draws no wide lines
            t0, t1 = k / 4, (k + 1) / 4
            quad(x0 + (x1 - x0) * t0, y0 + (y1 - y0) * t0 - 0.008, x0 + (x1 - x0) * t1,
                 y0 + (y1 - y0) * t1 + 0.008, (0.36, 0.8, 0.74))  # fmt: skip
    node = NodePath(mesh.node(colours))
    node.set_pos(*screen.center)
    qx, qy, qz, qw = yaw_quat(math.radians(screen.yaw_deg))
    node.set_quat(PandaQuat(qw, qx, qy, qz))
    node.set_light_off()
    node.set_two_sided(True)
    return node


# --- meshes in the figure's glTF frame (Y up) ----------------------------------------------------


class _Mesh:
    def __init__(self, name: str) -> None:
        self.data = GeomVertexData(name, GeomVertexFormat.get_v3n3(), Geom.UH_static)
        self.vertex = GeomVertexWriter(self.data, "vertex")
        self.normal = GeomVertexWriter(self.data, "normal")
        self.triangles = GeomTriangles(Geom.UH_static)
        self.count = 0
        self.name = name

    def point(self, p: Sequence[float], n: Sequence[float]) -> int:
        self.vertex.add_data3(p[0], p[1], p[2])
        self.normal.add_data3(n[0], n[1], n[2])
        self.count += 1
        return self.count - 1

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> int:
        """A quad facing -Z, just in front of z = 0; returns its first vertex index."""
        first = self.count
        # 1.5 cm: closer would lose the depth test to the surface behind (16-bit depth buffer).
        for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            self.point((x, y, -0.015), (0.0, 0.0, -1.0))
        self.triangles.add_vertices(first, first + 2, first + 1)
        self.triangles.add_vertices(first, first + 3, first + 2)
        return first

    def node(self, colours: Sequence[tuple[int, RGB]] = ()) -> GeomNode:
        """The geometry; ``colours`` [(first vertex, rgb)] paints from there on."""
        if colours:
            self._paint(colours)
        geom = Geom(self.data)
        geom.add_primitive(self.triangles)
        node = GeomNode(self.name)
        node.add_geom(geom)
        return node

    def _paint(self, colours: Sequence[tuple[int, RGB]]) -> None:
        self.data.set_format(GeomVertexFormat.get_v3n3c4())
        writer = GeomVertexWriter(self.data, "color")
        bounds = [first for first, _ in colours[1:]] + [self.count]
        for (first, rgb), end in zip(colours, bounds, strict=True):
            writer.set_row(first)
            for _ in range(end - first):
                writer.add_data4(rgb[0], rgb[1], rgb[2], 1.0)


# --- command line ---------------------------------------------------------------------------------

_EXPERTS = ("Equities expert", "Bonds expert", "Insurance expert", "Tax expert")
_GUEST_COLOURS: tuple[RGB, ...] = ((0.55, 0.2, 0.25), (0.42, 0.52, 0.38), (0.6, 0.52, 0.38))
_GUEST_HAIR = ("long", "curly", "ponytail", "short")


def sample_figures(layout: Layout, crowd: int = 12) -> list[Figure]:
    """People for a picture: customer, family, advisor, two experts, and some of a crowd, in
    a variety of hairstyles and builds."""
    figures = []
    guests = 0
    unlabelled = [s for s in layout.seats if not s.roles][::3][:crowd]
    for seat in layout.seats:
        if "customer" in seat.roles:
            customer = Figure(seat.pos, seat.yaw_deg, (0.18, 0.27, 0.45), "Customer")
            figures.append(customer._replace(hairstyle="short", build="broad"))
        elif "guest" in seat.roles:
            colour = _GUEST_COLOURS[guests % len(_GUEST_COLOURS)]
            style = _GUEST_HAIR[guests % len(_GUEST_HAIR)]
            figures.append(Figure(seat.pos, seat.yaw_deg, colour, "Family", hairstyle=style))
            guests += 1
    for i, seat in enumerate(unlabelled):
        colour = _GUEST_COLOURS[i % len(_GUEST_COLOURS)]
        style = _GUEST_HAIR[i % len(_GUEST_HAIR)]
        figures.append(Figure(seat.pos, seat.yaw_deg, colour, hairstyle=style))
    if layout.advisor_spot is not None:
        spot = layout.advisor_spot
        advisor = Figure(spot.pos, spot.yaw_deg, (0.34, 0.37, 0.45), "Advisor", hairstyle="bun")
        figures.append(advisor._replace(build="slim"))
    experts = layout.expert_spots[1:3] if len(layout.expert_spots) >= 3 else layout.expert_spots
    for spot, name, style in zip(experts, _EXPERTS, ("short", "bob"), strict=False):
        teal = (0.16, 0.5, 0.55)
        expert = Figure(spot.pos, spot.yaw_deg, teal, name, ai_label="AI-generated")
        figures.append(expert._replace(hairstyle=style))
    return figures


__all__ = [
    "Avatar",
    "CameraView",
    "Figure",
    "aim",
    "default_camera",
    "look",
    "offscreen",
    "render_layout",
    "sample_figures",
    "seat_at",
    "software_pipe",
    "stage",
    "viewer_camera",
]
