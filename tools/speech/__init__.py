"""Speech recognition (faster-whisper) with VAD-placed word times, and where its weights come from."""
