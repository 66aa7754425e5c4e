"""sims/experts."""
