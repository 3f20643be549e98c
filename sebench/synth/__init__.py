"""The self-contained corpus: speech synthesised offline with espeak-ng, and generated noise."""
