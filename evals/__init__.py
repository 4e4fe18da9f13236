"""Training-free grounding benchmarks: dataset loaders, metrics, runner and reports."""
