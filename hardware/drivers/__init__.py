"""Drivers behind the Robot API: ``sim`` (MuJoCo twin), ``lerobot_arm`` (SO-101/Koch through
lerobot), ``mock`` (the SO-101 driver on a simulated Feetech bus, ``feetech_sim``).
Import the module you need; each pulls in its backend only then."""
