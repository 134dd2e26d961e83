"""Lesson progress: reading position, completion, course resets and what pages show of them."""
