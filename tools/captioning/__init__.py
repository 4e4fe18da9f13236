"""Shot captioners (a local transformers VLM or any litellm vision model) behind one Protocol and one factory."""
