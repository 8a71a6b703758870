"""Measurement procedures (pymeasure Procedures), results files and replay."""
