"""Plumbing of the vision-language describer (no VLM weights ship in any registry: the model is a fake
here; the handler names are checked against the installed llama-cpp-python)."""

import base64

import numpy as np
import pytest

from clipcite.domain import FrameVisual
from clipcite.errors import ModelUnavailable
from ingest.indexing import merge_visuals
from ingest.stages.visual.describer import VLM_HANDLERS, VlmDescriber, VlmSettings, build_describer, clean_caption


class FakeVlm:
    def __init__(self, reply):
        self.reply = reply
        self.calls = []

    def create_chat_completion(self, messages, max_tokens, temperature):
        self.calls.append(messages)
        return {"choices": [{"message": {"role": "assistant", "content": self.reply}}]}


@pytest.fixture
def weights(tmp_path):
    model, mmproj = tmp_path / "vlm.gguf", tmp_path / "mmproj.gguf"
    model.write_bytes(b"GGUF")
    mmproj.write_bytes(b"GGUF")
    return model, mmproj


def test_handler_names_exist_in_llama_cpp():
    from llama_cpp import llama_chat_format

    assert all(hasattr(llama_chat_format, name) for name in VLM_HANDLERS)


def test_caption_from_the_model_joins_the_labels(weights):
    fake = FakeVlm("The image shows a brown horse grazing in a green field.\n")
    loaded = []
    d = VlmDescriber(*weights, handler="MoondreamChatHandler",
                     llama_factory=lambda m, p, h: loaded.append((m, p, h)) or fake)
    image = np.zeros((1080, 1920, 3), dtype=np.uint8)
    image[:, :, 1] = 150
    labels = d.describe(image)
    assert loaded == [(weights[0], weights[1], "MoondreamChatHandler")]
    assert labels.caption == "A brown horse grazing in a green field."
    assert labels.description.startswith("A brown horse grazing") and "colours:" in labels.description
    content = fake.calls[0][0]["content"]
    url = content[0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    jpeg = base64.b64decode(url.split(",", 1)[1])
    import cv2
    sent = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(sent.shape[:2]) == 672  # downscaled before encoding
    assert content[1]["type"] == "text"
    d.describe(image)
    assert len(loaded) == 1  # loaded once


def test_captions_lead_the_segment_description_deduplicated():
    frames = [FrameVisual(0, 2, "", objects=("horse",), caption="A horse in a field."),
              FrameVisual(2, 4, "", objects=("horse", "person"), caption="A horse in a field."),
              FrameVisual(4, 6, "", caption="A rider mounts the horse.")]
    out = merge_visuals(frames)
    assert out[:2] == ["A horse in a field.", "A rider mounts the horse."]
    assert "objects: horse, person" in out[2]


def test_settings_choose_the_vlm_and_errors_are_clear(weights, tmp_path):
    d = build_describer("auto", 1, VlmSettings(*weights, handler="NanoLlavaChatHandler"))
    assert isinstance(d, VlmDescriber) and d.handler == "NanoLlavaChatHandler"
    with pytest.raises(ModelUnavailable, match="MMPROJ"):
        build_describer("vlm", 1, VlmSettings(weights[0], None))
    with pytest.raises(ModelUnavailable):
        VlmDescriber(tmp_path / "missing.gguf", weights[1])
    with pytest.raises(ModelUnavailable, match="unknown vision handler"):
        VlmDescriber(*weights, handler="Nope")
    assert build_describer("auto", 1, None).name in ("detector", "colours")


@pytest.mark.parametrize("raw,clean", [
    ("In this frame, a man holds a red cup.", "A man holds a red cup."),
    ("a cat   on a\nsofa", "A cat on a sofa"),
    ("", ""),
])
def test_clean_caption(raw, clean):
    assert clean_caption(raw) == clean
