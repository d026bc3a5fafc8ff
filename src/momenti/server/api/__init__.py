"""The REST API's routers (v1)."""
