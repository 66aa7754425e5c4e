"""robo/policy."""
