"""Public API (VideoReasoner), settings, schemas, errors, planner and the LLM client. Imports nothing heavy."""
