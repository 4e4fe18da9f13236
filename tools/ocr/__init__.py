"""On-screen text: RapidOCR (PP-OCRv4 ONNX) over keyframes, deduplicated over time."""
