"""The customer's story (timeline, offers, notes) and the team's week (the outside-in review)."""
