"""The base layer: errors, settings and per-component configs, shared schemas, storage, the lazy registry helper
and the model holder. Imports nothing of vidreason above it."""
