"""Prompt templates shipped as package data; see :mod:`vidreason.agent.prompting`."""
