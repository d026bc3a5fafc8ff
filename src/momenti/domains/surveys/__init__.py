"""Surveys: definitions, public pages, signed links, invitations, contact-fatigue rules, widget."""
