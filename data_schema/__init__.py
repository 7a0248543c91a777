"""Data schema: declared tables and roles, the mapping file, reading, validation and the demo generator."""
