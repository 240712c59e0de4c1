"""Rendered downloads: conversions, the zip, the instrumental, custom mixes, a stem's MIDI and
the chords. The audio maths (``conversions``, ``tempo``), the options (``options``), the render
jobs' rows (``render_jobs``) and the worker's side (``worker``, on the "render" lane), and one
``controller`` that the site (``views``) and the API (``demixer.api.downloads``) both answer from.
"""
