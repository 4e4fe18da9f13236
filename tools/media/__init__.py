"""Video I/O: probing, frame streaming, audio extraction, keyframe selection and frame numbering (NumPro)."""
