"""Audio routes (issue 10): filled in by their own change."""

from __future__ import annotations

from mockserver.actions import Action

ACTIONS: tuple[Action, ...] = ()
