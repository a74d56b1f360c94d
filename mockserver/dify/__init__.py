"""Dify facts in one place: the releases emulated and what differs between them."""
