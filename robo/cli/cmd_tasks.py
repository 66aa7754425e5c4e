"""`robo tasks`: list registered simulation tasks."""

from __future__ import annotations

from omegaconf import DictConfig

HELP = "list simulation tasks (family=<metaworld|robosuite|so101> to filter)"


def run(cfg: DictConfig) -> int:
    import sims

    family = cfg.get("family") or None
    for name in sims.list_tasks(family):
        spec = sims.get_spec(name)
        shifts = f"  [shifts: {', '.join(spec.shifts)}]" if spec.shifts else ""
        print(f"{name:40s} {spec.instruction}{shifts}")
    return 0
