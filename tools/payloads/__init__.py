"""Validators for the payloads the web app parses (see the platform contract)."""
