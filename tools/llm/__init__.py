"""The LLM client (retries, structured output, accounting) over a swappable transport; litellm lives in
``litellm_transport`` only."""
