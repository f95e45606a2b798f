"""Pieces every generation graph uses: run context, source labelling, JSON parsing, progress."""
