"""Performance measurements; run with `make benchmark` (python -m benchmarks)."""
