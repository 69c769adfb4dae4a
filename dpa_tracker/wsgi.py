"""WSGI entry point of an installed package: ``gunicorn dpa_tracker.wsgi:app``."""

import gc

from dpa_tracker import create_app

app = create_app()
# What the application built at start (modules, models, templates: ~230,000 objects) lives as long as the process:
# moved out of the collector's reach, a full collection no longer walks it (about 120 ms per collection
# otherwise, on whichever request triggers it). https://docs.python.org/3/library/gc.html#gc.freeze
gc.freeze()
