"""robo/reward."""
