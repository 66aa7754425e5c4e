"""robo/eval."""
