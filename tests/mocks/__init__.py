"""Test doubles: fake task envs, buses and cameras (tests put this folder on sys.path and import ``fake_env``)."""
