"""LangGraph graphs: state, nodes and graph assembly."""
