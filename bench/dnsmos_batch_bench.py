"""DNSMOS CPU per clip: a plain speechmos loop vs sebench, one window per ONNX run vs batched.

Both at one ONNX thread (speechmos's sessions are rebuilt with intra_op_num_threads=1), all
in this process after a warm-up, timed with process CPU time. Clips: --clips clips each of
3 s and 10 s, speech-like tones in noise (seeded). Prints CPU s per clip for:
speechmos's DNSMOS loop; sebench one run per window (max_batch=1); sebench with a clip's
windows batched; sebench with all clips' windows batched (score_batch); and the largest
score difference batched vs unbatched and vs speechmos; then the share of Conv in one P.835
run (onnxruntime's profiler).
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/dnsmos_batch_bench.py [--clips 6] [--max-batch 16]
"""
import argparse
import os
import time

import numpy as np


def clips_of(seconds, count, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    out = []
    for i in range(count):
        f0 = 120 + 15 * i
        speech = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        speech *= 0.1 * (1 + np.sin(2 * np.pi * (2 + 0.3 * i) * t)) ** 2
        out.append((speech + 0.02 * rng.standard_normal(t.size)).astype(np.float32))
    return out


def cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--max-batch", type=int, default=16, help="windows per ONNX run, batched")
    args = ap.parse_args()
    import onnxruntime as ort
    from speechmos import dnsmos as official

    from sebench.metrics.dnsmos import DNSMOS, model_dir
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
    ref = official.DNSMOS(os.path.join(model_dir(), "sig_bak_ovr.onnx"),
                          os.path.join(model_dir(), "model_v8.onnx"))
    ref.onnx_sess = ort.InferenceSession(ref.primary_model_path, opts,
                                         providers=["CPUExecutionProvider"])
    ref.p808_onnx_sess = ort.InferenceSession(os.path.join(model_dir(), "model_v8.onnx"), opts,
                                              providers=["CPUExecutionProvider"])
    single, batched = DNSMOS(threads=1, max_batch=1), DNSMOS(threads=1, max_batch=args.max_batch)
    for seconds in (3, 10):
        audio = clips_of(seconds, args.clips, seed=seconds)
        ref(audio[0], 16000, False)                       # warm-up (librosa, ONNX arenas)
        single(audio[0])
        batched.score_batch(audio[:2])
        t_ref, r_ref = cpu(lambda: [ref(a, 16000, False) for a in audio])
        t_one, r_one = cpu(lambda: [single(a) for a in audio])
        t_clip, r_clip = cpu(lambda: [batched(a) for a in audio])
        t_all, r_all = cpu(lambda: batched.score_batch(audio))
        keys = ("p808", "sig", "bak", "ovrl")
        diff_b = max(abs(x[k] - y[k]) for x, y in zip(r_one, r_clip + r_all) for k in keys)
        diff_b = max(diff_b, max(abs(x[k] - y[k]) for x, y in zip(r_one, r_all) for k in keys))
        diff_r = max(abs(x[k] - float(y[f"{k}_mos"])) for x, y in zip(r_all, r_ref) for k in keys)
        n = len(audio)
        print(f"max_batch {args.max_batch}, {seconds:>2} s clips x{n}: CPU s/clip  speechmos {t_ref / n:.3f} | sebench "
              f"per window {t_one / n:.3f} ({t_one / t_ref:.2f}x) | windows batched "
              f"{t_clip / n:.3f} ({t_clip / t_ref:.2f}x) | clips batched {t_all / n:.3f} "
              f"({t_all / t_ref:.2f}x); max |diff| batched vs unbatched {diff_b:.2e}, "
              f"vs speechmos {diff_r:.2e}", flush=True)
    conv_share()


def conv_share():
    import collections
    import json

    import onnxruntime as ort

    from sebench.metrics.dnsmos import model_dir
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
    opts.enable_profiling = True
    sess = ort.InferenceSession(os.path.join(model_dir(), "sig_bak_ovr.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    x = clips_of(9.01, 1, seed=0)[0][None, :144160]
    for _ in range(3):
        sess.run(None, {"input_1": x})
    path = sess.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    per_op = collections.Counter()
    for e in events:
        if e.get("cat") == "Node":
            per_op[e["args"].get("op_name")] += e["dur"]
    total = sum(per_op.values())
    print("P.835 time by op: " + ", ".join(f"{op} {100 * t / total:.1f} %"
                                           for op, t in per_op.most_common(3)))


if __name__ == "__main__":
    main()
