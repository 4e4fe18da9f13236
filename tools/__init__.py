"""Everything below the graph, in layers: ``core`` (base), the model wrappers (``media``, ``shots``, ``speech``,
``vision``, ``captioning``, ``ocr``, ``text``, ``llm``) and pure-numpy ``grounding``, the ``index`` engine,
``retrieval`` over an index, and ``distributed`` (Ray) runners."""
