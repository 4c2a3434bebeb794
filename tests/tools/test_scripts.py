"""scripts/serve and scripts/system-packages on a machine missing every Debian package: apt-get,
dpkg-query, id and sudo are stand-ins on PATH that record what they were asked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _machine(tmp_path: Path, *, sudo: bool) -> dict[str, str]:
    """A PATH of stand-ins: nothing installed, not root, and sudo only if ``sudo``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for real in ("bash", "env"):
        found = shutil.which(real)
        assert found is not None
        (bin_dir / real).symlink_to(found)
    log = tmp_path / "calls"
    stubs = {
        "dpkg-query": "exit 1",
        "id": "echo 1000",
        "apt-get": f'echo "apt-get $*" >> {log}',
    }
    if sudo:
        stubs["sudo"] = f'echo "sudo" >> {log}; "$@"'
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        stub.chmod(0o755)
    return {**os.environ, "PATH": str(bin_dir)}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = str(ROOT / "scripts" / "system-packages")
    return subprocess.run([script, *args], env=env, capture_output=True, text=True, check=False)


def test_serve_installs_the_voices_and_a_chinese_font_and_nothing_for_tests(
    tmp_path: Path,
) -> None:
    done = _run(_machine(tmp_path, sudo=True), "serve")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "sudo"
    install = calls[-1].split()
    assert install[:2] == ["apt-get", "install"]
    assert [p for p in install if not p.startswith("-")][2:] == ["espeak-ng", "fonts-wqy-microhei"]


def test_without_root_or_sudo_it_names_what_to_install(tmp_path: Path) -> None:
    done = _run(_machine(tmp_path, sudo=False), "serve")
    assert done.returncode == 1
    assert "install as root: espeak-ng fonts-wqy-microhei" in done.stderr
    assert not (tmp_path / "calls").exists()


def test_the_serve_script_asks_for_them_and_starts_anyway() -> None:
    serve = (ROOT / "scripts" / "serve").read_text()
    assert "if ! scripts/system-packages serve; then" in serve
    listed = _run(dict(os.environ), "serve", "--list").stdout.split()
    assert listed == ["espeak-ng", "fonts-wqy-microhei"]
