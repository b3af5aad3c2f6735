"""Who may do what: people, roles, invitations, admin regions, and the regions' groups."""
