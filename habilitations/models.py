"""Habilitations: a user's rights, in one organisation, on one of the operator's services."""
