"""Reactions of the notifications service to consumed events (its issue adds them)."""

from shared.consumer import Handler

HANDLERS: dict[str, Handler] = {}
