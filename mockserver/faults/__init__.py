"""Faults: the grammar, schedules, drawing by precedence, and what a drawn fault does to a response."""
