"""Knowledge API: metadata routes (issue 11). Filled in by its own change."""

from __future__ import annotations

from mockserver.actions import Action

ACTIONS: tuple[Action, ...] = ()
