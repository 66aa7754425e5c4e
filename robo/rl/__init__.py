"""robo/rl."""
