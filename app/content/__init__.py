"""The content layer: course tree in, frozen dataclasses out. No Flask, no database.

Import from the modules: ``loader.load_catalog``, ``model.Lesson``, ``diagnostics``.
"""
