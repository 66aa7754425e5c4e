"""robo/cli."""
