"""Enhancement by a (robust) quality predictor alone: Algorithm 1 on the noisy magnitude,
optionally as post-processing of another model's output (paper 000 §3.2.3-3.2.4)."""
import torch
from torch import nn

from sebench.errors import ConfigError
from sebench.quality.attack import algorithm1_wave


class RobustQEnhancer(nn.Module):
    def __init__(self, q, steps=20, lr=0.1, target=None, after=None, step="normalized"):
        super().__init__()
        self.q, self.after = q, after
        self.steps, self.lr, self.step = int(steps), float(lr), step
        self.target = q.scale.target(target)
        if after is not None and int(after.fs) != int(q.fs):
            raise ConfigError(f"--after model runs at {after.fs} Hz but the predictor at {q.fs} Hz")
        self.fs = q.fs

    def forward(self, wave):
        if self.after is not None:
            with torch.no_grad():
                wave = self.after(wave)["wave"]
        out, history = algorithm1_wave(self.q, wave, self.target, self.steps, self.lr,
                                       step=self.step)
        return {"wave": out, "q_before": history[0], "q_after": history[-1]}
