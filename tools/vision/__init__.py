"""Image-text encoders for the visual channel (open_clip, BLIP-2 ITC) behind one Protocol and one factory."""
