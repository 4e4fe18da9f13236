"""Prompt templates shipped as package data, and their loader (:mod:`vidreason.tools.core.prompting`)."""
