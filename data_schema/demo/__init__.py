"""Deterministic, seeded generator of the de-identified demo RLS extract (see docs/demo_data.md)."""

from .generator import load_calibration, synthesize

__all__ = ["load_calibration", "synthesize"]
