"""``python -m vidreason`` runs the CLI."""

from vidreason.agent.cli import run

run()
