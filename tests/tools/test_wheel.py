"""The built wheel holds every module and data file of the packages it names.

The tests otherwise import from the source tree (an editable install), where a subpackage or a
data file missing from the wheel's configuration goes unnoticed. Here the wheel is built from a
copy of the tree, installed into a fresh venv that sees the shared venv's dependencies but not
the source tree, and imported from a directory that holds nothing of ours.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Left out of the copy the wheel is built from: caches, installs and earlier build output.
_NOT_SOURCE = shutil.ignore_patterns(
    ".*", "__pycache__", "*.pyc", "node_modules", "build", "dist", "*.egg-info", "var"
)

# Runs in the fresh venv: imports what an editable install would find in the source tree, and
# reads the data files through the code that uses them.
_PROBE = """
import json, sys
from importlib import resources

import server.cluster.redis_bus
import server.media.hub
from avatars.knowledge import Knowledge
from avatars.personas import Personas
from avatars.routing import Lexicon
from scenes.layout import load_layout
from simulator.scenario import available, load_scenario

packages = json.loads(sys.argv[1])
vectors = json.loads(resources.files("protocol").joinpath("vectors.json").read_text("utf-8"))
print(json.dumps({
    "dirs": {name: str(resources.files(name)) for name in packages},
    "modules": {
        name: sys.modules[name].__file__
        for name in ("server.cluster.redis_bus", "server.media.hub", "simulator.scenario")
    },
    "vectors": len(vectors["valid"]),
    "products": len(Knowledge.load().products),
    "personas": len(Personas.load().all),
    "lexicon": type(Lexicon.load()).__name__,
    "assets": {
        name: load_layout(name).asset_path.stat().st_size
        for name in ("private_room", "branch_lobby", "seminar_room")
    },
    "scenarios": [load_scenario(name).name for name in available()],
}))
"""


def _packages() -> list[str]:
    """The top-level packages the wheel's configuration includes that exist in the tree."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    names = [pattern.rstrip("*.") for pattern in patterns]
    return [name for name in names if (ROOT / name / "__init__.py").is_file()]


def _shipped_files(package: str) -> list[Path]:
    """Every file of a package in the tree, relative to it, that the wheel must carry."""
    top = ROOT / package
    return sorted(
        path.relative_to(top)
        for path in top.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass(frozen=True)
class Installed:
    python: Path
    purelib: Path  # the fresh venv's site-packages, where the wheel went
    cwd: Path  # a directory that holds nothing of ours
    env: dict[str, str]

    def run(self, code: str, *args: str) -> str:
        return _run([self.python, "-c", code, *args], self.cwd, self.env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    top = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    source, wheels, target, elsewhere = (top / n for n in ("src", "whl", "venv", "cwd"))
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE, symlinks=True)
    elsewhere.mkdir()

    # --no-index: the build uses the venv's setuptools and downloads nothing.
    pip: list[str | Path] = [sys.executable, "-m", "pip"]
    build: list[str | Path] = [
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        wheels,
    ]
    _run([*pip, *build, source], elsewhere, env)
    (wheel,) = wheels.glob("wealthroom-*.whl")

    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(_run([python, "-c", where], elsewhere, env).strip())
    # The dependencies come from the shared venv: a path in a .pth file is added after the
    # venv's own site-packages, and the .pth files there (the editable install) are not run.
    (purelib / "shared_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        elsewhere,
        env,
    )
    return Installed(python, purelib, elsewhere, env)


def test_wheel_holds_every_package_and_data_file(installed: Installed) -> None:
    packages = _packages()
    assert {"protocol", "scenes", "avatars", "rooms", "server", "simulator"} <= set(packages)
    found = json.loads(installed.run(_PROBE, json.dumps(packages)))

    for name, file in found["modules"].items():
        assert Path(file).is_relative_to(installed.purelib), f"{name} imported from {file}"
    for package in packages:
        copy_dir = Path(found["dirs"][package])
        assert copy_dir == installed.purelib / package
        for relative in _shipped_files(package):
            copy = copy_dir / relative
            assert copy.is_file(), f"the wheel lacks {package}/{relative}"
            assert copy.read_bytes() == (ROOT / package / relative).read_bytes(), relative
    assert found["vectors"] > 0
    assert found["products"] > 0
    assert found["personas"] > 0
    assert found["lexicon"] == "Lexicon"
    assert set(found["assets"]) == {"private_room", "branch_lobby", "seminar_room"}
    assert sorted(found["scenarios"]) == sorted(
        p.stem for p in (ROOT / "simulator" / "scenarios").glob("*.json")
    )


def test_wheel_entry_point_imports(installed: Installed) -> None:
    where = installed.run("import run_server; print(run_server.__file__)")
    assert Path(where.strip()).is_relative_to(installed.purelib)
