"""Tracks: an uploaded original (file, content hash, duration), the upload form, the library."""
