"""Catalog, course and lesson pages."""
