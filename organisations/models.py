"""Organisations: the SIRENE mirror (legal units, establishments) and the partners' structures."""
