"""Text insights on the warehouse's text tables: topics, comments, trends."""
