"""sebench: train and benchmark speech enhancement from real noisy speech and simulated pairs."""

__version__ = "0.1.0"
