"""Test doubles: fake task envs, buses, cameras (tests put this folder on sys.path)."""
