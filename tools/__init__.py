"""Indexing stages and the tools the planner calls, one module per tool."""
