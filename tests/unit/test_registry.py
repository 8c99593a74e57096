"""Split weights are assembled once, verified as written, and re-hashed on demand."""

import pytest

from models.registry import ModelRegistry


def test_assemble_verifies_and_detects_damage(tmp_path):
    parts = []
    for i in range(3):
        p = tmp_path / f"part{i}"
        p.write_bytes(bytes([i]) * 1000)
        parts.append(p)
    reg = ModelRegistry(tmp_path / "models")
    out = reg.assemble("m/model.bin", parts)
    assert out.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert reg.verify("m/model.bin") is True
    assert reg.assemble("m/model.bin", parts) == out  # second call: no rewrite
    data = bytearray(out.read_bytes())
    data[1500] ^= 0xFF  # same size, one byte flipped: only the hash can tell
    out.write_bytes(bytes(data))
    assert reg.verify("m/model.bin") is False
    assert reg.verify("absent.bin") is None


def test_auto_whisper_is_tiny_en_on_cpu_and_base_on_cuda_when_installed(tmp_path, monkeypatch):
    from models import registry as reg_mod
    reg = reg_mod.ModelRegistry(tmp_path)
    assert reg.choose_whisper("base", "cpu") == "base"  # an explicit choice is kept
    assert reg.choose_whisper("auto", "cpu") == "tiny.en"
    monkeypatch.setattr(reg_mod, "_package_dir", lambda pkg: tmp_path)
    assert reg.choose_whisper("auto", "cuda") == "base"
    monkeypatch.setattr(reg_mod, "_package_dir", lambda pkg: None)
    assert reg.choose_whisper("auto", "cuda") == "tiny.en"  # base not installed


def test_whisper_plan_routes_english_to_the_fast_model_and_the_rest_to_base(tmp_path, monkeypatch):
    from models import registry as reg_mod
    reg = reg_mod.ModelRegistry(tmp_path)
    monkeypatch.setattr(reg_mod, "_package_dir", lambda pkg: tmp_path)  # everything installed
    assert reg.whisper_plan("auto", "cpu") == ("tiny.en", "base")
    assert reg.whisper_plan("auto", "cpu", language="en") == ("tiny.en", None)  # English archive: fast path
    assert reg.whisper_plan("auto", "cpu", language="de") == ("tiny.en", "base")
    assert reg.whisper_plan("auto", "cuda") == (None, "base")  # base is fast enough for all on a GPU
    assert reg.whisper_plan("tiny.en", "cpu") == ("tiny.en", None)
    assert reg.whisper_plan("base", "cpu") == (None, "base")
    monkeypatch.setattr(reg_mod, "_package_dir", lambda pkg: None)
    assert reg.whisper_plan("auto", "cpu") == ("tiny.en", None)  # base missing: English only


def test_a_zipped_model_is_unpacked_once_and_may_not_escape_its_folder(tmp_path):
    import zipfile

    from clipcite.errors import ModelUnavailable
    from models.registry import ModelRegistry

    archive, extra = tmp_path / "m.zip", tmp_path / "classes.csv"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("job/model.onnx", b"onnx bytes")
    extra.write_text("index,mid,display_name\n")
    reg = ModelRegistry(tmp_path / "models")
    out = reg.unpack("yamnet", archive, [extra])
    assert (out / "job/model.onnx").read_bytes() == b"onnx bytes" and (out / "classes.csv").exists()
    (out / "job/model.onnx").write_bytes(b"kept")  # a second call finds it unpacked and leaves it
    assert reg.unpack("yamnet", archive, [extra]) == out and (out / "job/model.onnx").read_bytes() == b"kept"
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.txt", b"x")
    with pytest.raises(ModelUnavailable):
        reg.unpack("bad", bad, [])
    assert not (tmp_path / "models" / "escape.txt").exists()
