"""Image-tower throughput and agreement with fp32 for each CPU path of the open_clip encoder (ViT-B/32).

    python benchmarks/encoder_speed.py                      # fp32, bf16, int8 (+ channels-last, ONNX Runtime)
    python benchmarks/encoder_speed.py --emulate-no-amx     # the same with the math libraries capped at AVX2

Frames come from a real clip (``../shared/data/videos``, else the generated benchmark video), decoded as the
index decodes them (short side 224) and encoded through ``ClipEmbedder.encode_images`` (preprocessing
included), each path in a fresh process, with 1 and 2 threads, all from one checkpoint file of random
ViT-B/32 weights (loaded as real weights load). Reports images per second (wall) and per
CPU-second (steadier on a shared machine), and the lowest per-frame cosine similarity to fp32. The ONNX Runtime
rows need the ``onnx`` package (export) and ignore the emulation (ORT follows CPUID).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import emulation_env, make_long_video, report, run_json

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"

_CHECKPOINT = """
import json, torch
from vidreason.tools.vision.clip import ClipEmbedder
torch.manual_seed(0)
torch.save(ClipEmbedder("ViT-B-32", "random", "cpu", precision="fp32")._model.state_dict(), {out!r})
print(json.dumps({{}}))
"""

_RUN = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {bench!r})
import numpy as np, torch
from _common import cpu_seconds, peak_rss_mb
torch.set_num_threads({threads})
from vidreason.tools.vision.clip import ClipEmbedder
frames = np.load({frames!r})
path = {path!r}
precision = {{"fp32-channels-last": "fp32"}}.get(path, path)
t = time.perf_counter()
enc = ClipEmbedder("ViT-B-32", {checkpoint!r}, "cpu", precision=precision, batch_size={batch})
load_s = time.perf_counter() - t
if path == "fp32-channels-last":
    enc._model.visual.to(memory_format=torch.channels_last)
    prep = enc._preprocess
    enc._preprocess = lambda f: prep(f).contiguous(memory_format=torch.channels_last)
enc.encode_images(frames[: {batch}])  # warm-up
t = time.perf_counter(); c = cpu_seconds()
feats = enc.encode_images(frames)
wall = time.perf_counter() - t; cpu = cpu_seconds() - c
np.save({out!r}, feats)
print(json.dumps({{"images_per_s": len(frames) / wall, "images_per_cpu_s": len(frames) / cpu, "load_s": load_s,
                  "precision": enc.precision, "provenance": enc.provenance, "peak_rss_mb": peak_rss_mb()}}))
"""

_ORT = """
import json, sys, time, warnings, os
warnings.simplefilter("ignore")
sys.path.insert(0, {bench!r})
import numpy as np, torch, onnxruntime as ort
from _common import cpu_seconds
from vidreason.tools.vision.clip import ClipEmbedder
frames = np.load({frames!r})
enc = ClipEmbedder("ViT-B-32", {checkpoint!r}, "cpu", precision="fp32")
onnx_path = os.path.join({tmp!r}, "visual.onnx")
if not os.path.exists(onnx_path):
    torch.onnx.export(enc._model.visual, (torch.zeros(1, 3, 224, 224),), onnx_path, dynamo=False,
                      input_names=["x"], output_names=["y"], dynamic_axes={{"x": {{0: "n"}}}}, opset_version=17)
model = onnx_path
if {int8}:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    model = onnx_path.replace(".onnx", "_int8.onnx")
    if not os.path.exists(model):
        quantize_dynamic(onnx_path, model, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
so = ort.SessionOptions(); so.intra_op_num_threads = {threads}; so.inter_op_num_threads = 1
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
def encode(f):
    out = []
    for i in range(0, len(f), {batch}):
        x = enc._preprocess(f[i : i + {batch}]).numpy()
        out.append(sess.run(None, {{"x": x}})[0])
    y = np.concatenate(out)
    return y / np.linalg.norm(y, axis=1, keepdims=True)
encode(frames[: {batch}])
t = time.perf_counter(); c = cpu_seconds()
feats = encode(frames)
wall = time.perf_counter() - t; cpu = cpu_seconds() - c
np.save({out!r}, feats)
print(json.dumps({{"images_per_s": len(frames) / wall, "images_per_cpu_s": len(frames) / cpu}}))
"""


def clip_frames(n_max: int) -> tuple[np.ndarray, str]:
    """Frames of a real clip at 3 fps (short side 224), else of the generated benchmark video."""
    from vidreason.tools.media.video import iter_frames

    clip = CLIPS / "scenedetect_testvideo.mp4"
    source = clip if clip.exists() else make_long_video(10, speech=True)
    frames = np.concatenate([c.frames for c in iter_frames(source, 3.0, short_side=224, end=n_max / 3.0)])
    return frames[:n_max], str(source)


def _cosines(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--paths", nargs="+", default=["fp32", "bf16", "int8", "fp32-channels-last"])
    ap.add_argument("--emulate", choices=["avx2", "avx512"])
    ap.add_argument("--emulate-no-amx", action="store_true", help="same as --emulate avx2")
    ap.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime rows")
    args = ap.parse_args()
    emulate = "avx2" if args.emulate_no_amx else args.emulate
    env = emulation_env(emulate)
    bench = str(Path(__file__).parent)
    frames, source = clip_frames(args.frames)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/frames.npy", frames)
        checkpoint = f"{tmp}/vit_b32_random.pt"  # one set of random weights for every path, loaded as real ones
        run_json(_CHECKPOINT.format(out=checkpoint))
        feats: dict[str, np.ndarray] = {}
        jobs: list[tuple[str, str, int]] = [(p, "torch", t) for p in args.paths for t in args.threads]
        try:
            import onnx  # noqa: F401  (the exporter needs it)

            if not args.no_ort:
                jobs += [(p, "ort", t) for p in ("ort-fp32", "ort-int8") for t in args.threads]
        except ImportError:
            print("onnx not installed: no ONNX Runtime rows", file=sys.stderr)
        for path, kind, threads in jobs:
            out = f"{tmp}/{path}-{threads}.npy"
            fmt = {"bench": bench, "frames": f"{tmp}/frames.npy", "threads": threads, "batch": args.batch, "out": out}
            fmt["checkpoint"] = checkpoint
            if kind == "torch":
                code = _RUN.format(path=path, **fmt)
            else:
                code = _ORT.format(tmp=tmp, int8=path == "ort-int8", **fmt)
            row = {"path": path, "threads": threads, **run_json(code, env)}
            feats.setdefault(path, np.load(out))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    for row in rows:
        row["min_cosine_vs_fp32"] = round(_cosines(feats["fp32"], feats[row["path"]]), 5) if "fp32" in feats else None
        for k in ("images_per_s", "images_per_cpu_s", "load_s"):
            if k in row:
                row[k] = round(row[k], 2)
    data = {"frames": len(frames), "source": source, "batch": args.batch, "rows": rows}
    report(f"encoder_speed{'_' + emulate if emulate else ''}", data, emulate)


if __name__ == "__main__":
    main()
