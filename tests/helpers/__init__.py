"""Shared test helpers: tiny models, prepared data and trial files built offline.

Import as ``tests.helpers.<module>`` with the repository root on ``sys.path`` (the
``pythonpath = ["."]`` pytest setting, or ``python -m pytest`` from the root).
"""
