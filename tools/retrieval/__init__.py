"""Queries over an index: per-channel similarity curves and TFVTG grounding (``grounder``), and the typed tools
the planner calls (``planner_tools``)."""
