"""Speech: faster-whisper transcripts placed by VAD and streamed in blocks, the language check, and speaker diarization
(GE2E embeddings, clustering, speaker turns)."""
