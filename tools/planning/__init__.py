"""Planning: question validation, the offline parser and the LLM planner (both write a ``Plan``), and the
conversion to and from TFVTG decompositions."""
