"""Reactions of the enrollment service to consumed events (its issue adds them)."""

from shared.consumer import Handler

HANDLERS: dict[str, Handler] = {}
