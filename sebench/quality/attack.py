"""Algorithm 1 of paper 000 (its first lines were lost; reconstructed in METHODS.md §1).

Given a noisy magnitude Z and a predictor Q, find a non-negative "noise" N such that
Y = max(Z - N, 0) maximises Q: K steps of gradient descent on (Q(Y) - S)^2 with step size lr,
N clipped to >= 0 after each step. Used as the attack in robust-Q training and, with a
robust Q, as an enhancement method in itself (noisy phase for resynthesis).
"""
import torch


def algorithm1(q, mag, target, steps=20, lr=0.05, frame_lengths=None, step="normalized"):
    """Returns (Y, N, history of Q(Y) per step). ``mag``: (B, F, T) magnitude.

    ``step``: "plain" is Algorithm 1 literally (N -= lr * g), whose useful lr depends on the
    predictor's gradient scale; "normalized" (default) scales each utterance's gradient to
    unit RMS and the step to lr x its mean magnitude, so lr is a fraction of the signal per
    step whatever the predictor.
    """
    mag = mag.detach()
    noise = torch.zeros_like(mag, requires_grad=True)
    history = []
    was_training = q.training
    flags = [p.requires_grad for p in q.parameters()]
    q.eval()
    for p in q.parameters():
        p.requires_grad_(False)
    try:
        with torch.enable_grad():
            for _ in range(int(steps)):
                y = torch.clamp(mag - noise, min=0.0)
                score = q.forward_mag(y, frame_lengths)
                loss = ((score - target) ** 2).sum()
                grad, = torch.autograd.grad(loss, noise)
                history.append(score.detach())
                with torch.no_grad():
                    if step == "normalized":
                        dims = tuple(range(1, grad.dim()))
                        rms = grad.pow(2).mean(dims, keepdim=True).sqrt().clamp_min(1e-12)
                        grad = grad / rms * mag.mean(dims, keepdim=True)
                    noise -= lr * grad
                    noise.clamp_(min=0.0)
            y = torch.clamp(mag - noise.detach(), min=0.0)
            history.append(q.forward_mag(y, frame_lengths).detach())
    finally:
        for p, flag in zip(q.parameters(), flags):
            p.requires_grad_(flag)
        q.train(was_training)
    return y, noise.detach(), torch.stack(history, dim=0)


def algorithm1_wave(q, wave, target, steps=20, lr=0.05, lengths=None, step="normalized"):
    """Algorithm 1 on a waveform batch: the attacked magnitude resynthesised with the
    noisy phase. Returns (waveform, history of Q per step)."""
    from sebench.audio.stft import istft, stft
    spec = stft(wave, q.stft_cfg)
    frames = None
    if lengths is not None:
        frames = torch.clamp(lengths // q.stft_cfg.hop_length + 1, max=spec.shape[-1])
    y_mag, _, history = algorithm1(q, spec.abs(), target, steps, lr, frames, step)
    phase = spec / spec.abs().clamp_min(1e-8)
    return istft(y_mag * phase, q.stft_cfg, length=wave.shape[-1]), history
