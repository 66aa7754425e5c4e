"""robo/steer."""
