"""Core: settings, typed errors, clock, the argument grammar, frames, scratch connections.

Imports nothing of momenti."""
