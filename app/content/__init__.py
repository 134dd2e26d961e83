"""The content layer: course tree in, frozen dataclasses out. No Flask, no database."""

from app.content.diagnostics import Diagnostic, Severity
from app.content.loader import load_catalog
from app.content.model import BrokenLesson, Catalog, Course, Lesson, TocEntry

__all__ = [
    "BrokenLesson",
    "Catalog",
    "Course",
    "Diagnostic",
    "Lesson",
    "Severity",
    "TocEntry",
    "load_catalog",
]
