"""Benchmarks that print figures (never timed tests): page re-render times; engine scale-out comes with issue 6."""
