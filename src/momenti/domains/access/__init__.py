"""Who may do what: users, roles and teams, passwords, sign-in sessions, and the permission table."""
