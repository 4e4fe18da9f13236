"""The nodes of the reasoning graph, one module per node (plus shared helpers in ``base`` and the offline
answer templates in ``templates``). Each node is ``node(state, runtime) -> partial update`` and appends its
``TraceStep`` to the state."""
