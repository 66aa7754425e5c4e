"""robo/data."""
