"""The text pipeline: incremental analysis of comments and feedback, and the versioned sentiment models."""
