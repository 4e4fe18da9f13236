"""Query-vs-text matching for transcripts, captions, OCR and summaries (sentence embeddings + BM25)."""
