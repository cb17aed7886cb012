"""PDF stages: the data layer drawn over the frames, pages composed into one streamed PDF,
fonts subset once."""
