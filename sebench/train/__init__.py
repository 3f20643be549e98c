"""The shared trainer: one engine (data, checkpoints, resume, logging, DDP, AMP) for every method."""
