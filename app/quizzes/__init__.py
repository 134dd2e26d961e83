"""Answering knowledge checks: grading on the server, attempts, hints and answer reveals."""
