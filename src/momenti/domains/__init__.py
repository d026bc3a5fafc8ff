"""Domains: application data with behaviour and no HTTP (journey map, surveys and their reach, API tokens)."""
