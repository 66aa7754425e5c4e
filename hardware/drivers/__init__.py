"""hardware/drivers."""
