"""Report renderers: data in, bytes out."""
