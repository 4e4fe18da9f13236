"""``vidreason mcp``: vidreason's tools (index, ground, ask, transcript, frames, summaries, traces) served over the
Model Context Protocol, so any MCP client (Claude Desktop, IDE assistants, other agents) can use them.

``server.build_server`` assembles the server from ``tools``, ``resources`` and ``prompts``; ``service`` holds what
stays loaded between calls (one ``VideoReasoner``: models and opened indexes); ``roots`` decides which files a
client may name; ``cli`` adds the subcommand. Built on the ``mcp`` SDK 2.x (``pip install 'vidreason[mcp]'``).
"""
