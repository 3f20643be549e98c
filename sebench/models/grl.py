"""Paper 004's training-only adversarial branch: a gradient reversal layer and the mask
predictor D that reads the DPRNN encoder's output.

The branch D is one DPRNN block + pointwise conv + PReLU + sigmoid (the mask decoder's shape),
so it predicts one value per bin of the learned representation. It exists only while
training: exports keep the SE model alone, so the run-time model is the Non-Adv one.
"""
import torch
from torch import nn

from sebench.models.dprnn import DPRNNBlock, chunk, overlap_add


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the incoming gradient by -lambda (Ganin et al.)."""

    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = float(lambd)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.lambd * grad, None


def reverse_gradient(x, lambd=1.0):
    return GradientReversal.apply(x, lambd)


class MaskBranch(nn.Module):
    """D: encoder features (B, C, L) -> a mask in (0, 1) of the same shape.

    ``reverse`` puts a gradient reversal layer (scale ``grl_lambda``) in front of D, so the
    encoder and analysis transform maximise the loss D minimises (Adv); without it the two
    cooperate (Coop).
    """

    def __init__(self, filters=64, hidden=128, chunk_size=100, reverse=True, grl_lambda=1.0):
        super().__init__()
        self.chunk_size, self.reverse, self.grl_lambda = int(chunk_size), bool(reverse), grl_lambda
        self.block = DPRNNBlock(filters, hidden)
        self.out = nn.Sequential(nn.Conv1d(filters, filters, 1), nn.PReLU(), nn.Sigmoid())

    def forward(self, encoded):
        if self.reverse:
            encoded = reverse_gradient(encoded, self.grl_lambda)
        h, length = chunk(encoded, self.chunk_size)
        return self.out(overlap_add(self.block(h), length))
