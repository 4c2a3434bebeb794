# Sourced by scripts/serve and scripts/test: make .venv and install the project into it.
# Reinstalls only when pyproject.toml changes, so the second run starts at once.

ensure_venv() {
    local extra="$1"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Wealthroom needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "creating .venv" >&2
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed${extra:+-test}"
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "installing dependencies into .venv (first run only)" >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra}"
        echo "$want" > "$stamp"
    fi
}
