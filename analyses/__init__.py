"""Statistics on aggregates: result objects that feed the screen, the CLI, CSV, figures and slides alike."""
