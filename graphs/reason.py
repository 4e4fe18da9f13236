"""The reasoning graph: plan -> locate -> ground -> constrain -> inspect -> answer -> verify.

``constrain`` may loop back to ``plan`` once (the ordering the question implies does not fit what was found
and an LLM can re-plan); ``verify`` may loop back to ``answer`` once (no citation of the LLM's answer holds
up).
Run-time objects (settings, index, LLM client) come in the ``Context`` passed as ``context=``; the state stays
JSON-serialisable so the SQLite checkpointer stores every step (see ``agent.trace``).

``graph`` is compiled without a checkpointer for the LangGraph CLI / Studio (``langgraph.json``), which brings
its own; ``agent.reasoner`` compiles ``builder`` with the SQLite checkpointer.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from vidreason.graphs.nodes.answer import answer
from vidreason.graphs.nodes.constrain import constrain, route_after_constrain
from vidreason.graphs.nodes.evidence import inspect
from vidreason.graphs.nodes.ground import ground
from vidreason.graphs.nodes.locate import locate
from vidreason.graphs.nodes.plan import plan
from vidreason.graphs.nodes.verify import route_after_verify, verify
from vidreason.graphs.state import Context, InputState, OutputState, ReasonState

builder = StateGraph(ReasonState, context_schema=Context, input_schema=InputState, output_schema=OutputState)
builder.add_node("plan", plan)
builder.add_node("locate", locate)
builder.add_node("ground", ground)
builder.add_node("constrain", constrain)
builder.add_node("inspect", inspect)
builder.add_node("answer", answer)
builder.add_node("verify", verify)
builder.add_edge(START, "plan")
builder.add_edge("plan", "locate")
builder.add_edge("locate", "ground")
builder.add_edge("ground", "constrain")
builder.add_conditional_edges("constrain", route_after_constrain, {"plan": "plan", "inspect": "inspect"})
builder.add_edge("inspect", "answer")
builder.add_edge("answer", "verify")
builder.add_conditional_edges("verify", route_after_verify, {"answer": "answer", "__end__": END})

graph = builder.compile(name="reason")
