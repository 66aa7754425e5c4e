"""`robo demo`: the main job end to end on the default task, artefacts under outputs/demo."""

from __future__ import annotations

import json
import time
from pathlib import Path

from omegaconf import DictConfig

HELP = "run the demo pipeline (collect -> report -> ...) on the default SO-101 task"


def run(cfg: DictConfig) -> int:
    import torch

    from robo.demo import STAGES, DemoConfig

    torch.set_num_threads(2)
    stages = list(cfg.stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown demo stage(s) {unknown}; choose from {', '.join(STAGES)}")
    demo = DemoConfig(
        task=str(cfg.task),
        out=Path(cfg.out),
        episodes=int(cfg.episodes),
        image_size=int(cfg.image_size),
        seed=int(cfg.seed),
    )
    demo.out.mkdir(parents=True, exist_ok=True)
    summary_path = demo.out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name in stages:
        t0 = time.time()
        print(f"[demo] {name} ...", flush=True)
        result = STAGES[name](demo)
        result["seconds"] = round(time.time() - t0, 1)
        summary[name] = result
        summary_path.write_text(json.dumps(summary, indent=2, default=str))
        print(f"[demo] {name}: {json.dumps(result, default=str)}", flush=True)
    print(f"[demo] done: see {demo.out}/ (summary.json)")
    return 0
