"""The face: the public Python API (``VideoReasoner``), the CLI, and the question planner (``planning``)."""
