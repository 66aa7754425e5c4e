"""`robo rl-compare`: compare `robo rl` runs (IQM + bootstrap 95% CIs, table, plot)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "compare robo rl runs: IQM with bootstrap CIs, table and plot (runs=[dirs] out=)"


def run(cfg: DictConfig) -> int:
    from robo.rl.compare import compare, expand_runs

    runs = cfg.runs
    runs = OmegaConf.to_container(runs) if not isinstance(runs, str) else runs
    out = Path(cfg.out)
    result = compare(expand_runs(runs), out, reps=int(cfg.reps))
    print((out / "table.md").read_text())
    print(f"robo rl-compare: {len(result['methods'])} methods -> {out}/compare.png, table.md")
    return 0
