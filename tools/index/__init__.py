"""The index engine: the cached ``VideoIndex``, its manifest, the build (one shared decode pass), the stages,
the shot -> scene -> event -> video hierarchy and its chain of summaries."""
