"""Emulated instruments: each answers the command subset its pymeasure driver sends."""
