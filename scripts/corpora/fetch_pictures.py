"""Fetch the photographs of the pictures corpus (`pictures_spec.json`) from Debian, offline-reproducibly.

Why this way: no image may be downloaded from the web, and the dev corpus already uses the telling
scikit-image pictures. GCompris's data package (Debian `gcompris-qt-data`, in the reachable registry) holds
real photographs from Wikimedia Commons with their photographer and licence in a README beside each
(public domain, CC0, CC-BY-SA: see `pictures_README` in the output folder); they are packed in Qt resource
bundles (`.rcc`), read here with a small reader of that format. Writes JPEGs (longest side 1280 px) into
`scripts/corpora/pictures/` (not committed), where the spec's `image` paths point.

    python scripts/corpora/fetch_pictures.py [--deb path/to/gcompris-qt-data.deb]
"""

from __future__ import annotations

import argparse
import io
import logging
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from PIL import Image

log = logging.getLogger("fetch_pictures")

OUT = Path(__file__).resolve().parent / "pictures"
BUNDLES = "usr/share/gcompris-qt/rcc"
# output name -> (bundle, path inside it)
PICTURES = {
    "dog.jpg": ("explore_farm_animals.rcc", "explore_farm_animals/resource/animals/dog.webp"),
    "cat.jpg": ("explore_farm_animals.rcc", "explore_farm_animals/resource/animals/cat.webp"),
    "cow.jpg": ("explore_farm_animals.rcc", "explore_farm_animals/resource/animals/cow.webp"),
    "sheep.jpg": ("explore_farm_animals.rcc", "explore_farm_animals/resource/animals/sheep.webp"),
    "horses.jpg": ("explore_farm_animals.rcc", "explore_farm_animals/resource/animals/horse.webp"),
    "giraffe.jpg": ("erase.rcc", "erase/resource/giraffe.webp"),
    "kingfisher.jpg": ("erase.rcc", "erase/resource/kingfisher.webp"),
    "penguin.jpg": ("erase.rcc", "erase/resource/penguin.webp"),
    "swans.jpg": ("erase.rcc", "erase/resource/swans.webp"),
    "cheetah.jpg": ("erase.rcc", "erase/resource/cheetah.webp"),
    "squirrel.jpg": ("erase.rcc", "erase/resource/squirrel.webp"),
    "polar_bear.jpg": ("explore_world_animals.rcc", "explore_world_animals/resource/animals/polar_bear.webp"),
    "panda.jpg": ("explore_world_animals.rcc", "explore_world_animals/resource/animals/panda.webp"),
    "macaw.jpg": ("explore_world_animals.rcc", "explore_world_animals/resource/animals/scarlet_macaw.webp"),
}
READMES = ("explore_farm_animals.rcc", "erase.rcc", "explore_world_animals.rcc")


def read_rcc(data: bytes) -> dict[str, bytes]:
    """Every file of a Qt resource bundle (format versions 1-3), by its path; zlib-compressed entries
    inflated (zstd ones, which GCompris does not use, are skipped)."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    node_size = 22 if version >= 2 else 14
    files: dict[str, bytes] = {}

    def name(offset: int) -> str:
        at = names + offset
        length = struct.unpack(">H", data[at:at + 2])[0]
        return data[at + 6:at + 6 + length * 2].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        at = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[at:at + 6])
        here = name(name_offset) if index else ""
        if flags & 2:  # a directory: its children are consecutive nodes
            count, first = struct.unpack(">II", data[at + 6:at + 14])
            for child in range(count):
                walk(first + child, f"{prefix}{here}/")
            return
        offset = struct.unpack(">I", data[at + 10:at + 14])[0]
        start = payload + offset
        length = struct.unpack(">I", data[start:start + 4])[0]
        body = data[start + 4:start + 4 + length]
        if flags & 1:
            body = zlib.decompress(body[4:])  # 4-byte uncompressed length first
        elif flags & 4:
            return
        files[f"{prefix}{here}".lstrip("/")] = body

    walk(0, "")
    return files


def find(files: dict[str, bytes], tail: str) -> bytes:
    for path, body in files.items():
        if path.endswith(tail):
            return body
    raise KeyError(tail)


def fetch_deb(workdir: Path) -> Path:
    subprocess.run(["apt-get", "download", "gcompris-qt-data"], cwd=workdir, check=True)
    return next(workdir.glob("gcompris-qt-data_*.deb"))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deb", type=Path, help="an already downloaded gcompris-qt-data .deb")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        deb = args.deb or fetch_deb(work)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "x")], check=True)
        bundles = {name: read_rcc((work / "x" / BUNDLES / name).read_bytes())
                   for name in {b for b, _ in PICTURES.values()}}
    for out_name, (bundle, tail) in PICTURES.items():
        image = Image.open(io.BytesIO(find(bundles[bundle], tail))).convert("RGB")
        image.thumbnail((1280, 1280))
        image.save(args.out / out_name, quality=92)
        log.info("%s <- %s:%s %s", out_name, bundle, tail, image.size)
    notes = [f"## {name}\n\n" + find(bundles[name], "README").decode("utf-8", "replace")
             for name in READMES if any(p.endswith("README") for p in bundles[name])]
    (args.out / "pictures_README").write_text("Photographers and licences, as GCompris lists them:\n\n"
                                             + "\n\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
