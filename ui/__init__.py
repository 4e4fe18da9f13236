"""Local web trace viewer."""
