"""CPU time of the pretrained reference enhancers (sebench/enhance/pretrained.py) per minute
of 48 kHz audio, frame streaming through their C APIs (`make references` installs them).

    .venv/bin/python bench/pretrained_bench.py [--seconds 60]
"""
import argparse
import time

import numpy as np

from sebench.enhance.pretrained import PRETRAINED


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal(int(48000 * args.seconds))).astype(np.float32)
    for name in PRETRAINED:
        model = PRETRAINED.build(name)
        t0 = time.process_time()
        model.process(x)
        cpu = time.process_time() - t0
        print(f"{name}: {cpu:.2f} CPU s for {args.seconds:.0f} s of audio, "
              f"CPU-time RTF {cpu / args.seconds:.3f}")


if __name__ == "__main__":
    main()
