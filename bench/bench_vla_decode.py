"""Why sampled FAST chunks fail to decode: trained VLA checkpoints sampled at demo states.

For each checkpoint ``<ckpt-dir>/<prefix>-s<seed>`` and each temperature, the policy samples
``--samples`` token sequences at every ``--every``-th state of ``--demos`` fresh expert demos
per task (seeds from 10000, never trained on), and each sequence is classified by
:meth:`DCTBPETokenizer.why_invalid`: decodes, ``short`` / ``long`` (the BPE tokens add up to
fewer / more than H x A integers), ``no_eos``, ``after_eos``, ``bad_id``. These are the
policy's first draws, before any redraw or grammar fallback; demo states are in distribution,
so closed-loop rates (``bench_vla``'s ``rollout.invalid_chunks``) are higher. Writes
``bench/results/<name>.json``.

    python -m bench.bench_vla_decode --prefixes vla-cpu-fast-d20,vla-cpu-fastc-d20
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from bench.bench_vla import TASKS
from bench.common import command_line, write_result


def classify(policy, observations: list[dict], samples: int, temperature: float, seed: int):  # noqa: ANN001, ANN201
    """Counter of :meth:`why_invalid` outcomes (``ok`` for a sequence that decodes) over
    ``samples`` draws at each observation, and the mean number of real tokens of those that
    decode (without EOS)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    counts: Counter[str] = Counter()
    lengths: list[int] = []
    for obs in observations:
        tokens = policy.sample_tokens(obs, n=samples, temperature=temperature, generator=gen)
        why = policy.tokenizer.why_invalid(tokens)
        real = policy.tokenizer.token_mask(tokens).sum(1) - 1
        for w, n in zip(why, real.tolist()):
            counts[w or "ok"] += 1
            if w is None:
                lengths.append(int(n))
    return counts, (sum(lengths) / len(lengths) if lengths else float("nan"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefixes", required=True, help="comma list of checkpoint prefixes")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds: <prefix>-s<seed>")
    ap.add_argument("--ckpt-dir", default="outputs/policies")
    ap.add_argument("--tasks", default=TASKS)
    ap.add_argument("--demos", type=int, default=3, help="fresh expert demos per task")
    ap.add_argument("--every", type=int, default=10, help="sample at every k-th demo state")
    ap.add_argument("--samples", type=int, default=32, help="draws per state")
    ap.add_argument("--temperatures", default="1.0,0.7")
    ap.add_argument("--name", default="vla_decode")
    args = ap.parse_args(argv)
    import torch

    from robo.cli.vla_envs import vla_demos
    from robo.policy import load_policy
    from robo.policy.vla import DCTBPETokenizer

    torch.set_num_threads(1)
    t0 = time.time()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    temps = [float(t) for t in args.temperatures.split(",")]
    demos = vla_demos(tasks, args.demos, 10_000, "privileged", ())
    states = {
        t: [
            {"images": {}, "state": ep.state[i], "instruction": ep.instruction}
            for ep in demos
            if ep.task == t
            for i in range(0, len(ep.action), args.every)
        ]
        for t in tasks
    }
    results: dict[str, dict] = {}
    seeds = [int(s) for s in args.seeds.split(",")]
    for prefix in (p.strip() for p in args.prefixes.split(",") if p.strip()):
        policies = {}
        for seed in seeds:
            path = Path(args.ckpt_dir) / f"{prefix}-s{seed}"
            if not path.is_dir():
                raise SystemExit(
                    f"no checkpoint {path} (hint: train it with python -m bench.bench_vla "
                    f"--tokenizer fast --prefix {prefix}, or pass --ckpt-dir/--seeds)"
                )
            policies[seed] = load_policy(path)
            if not isinstance(policies[seed].tokenizer, DCTBPETokenizer):
                raise SystemExit(f"{path} is not a FAST policy (hint: tokenizer=fast)")
        per_temp: dict[str, dict] = {}
        for temp in temps:
            total: Counter[str] = Counter()
            per_task: dict[str, dict] = {}
            for seed, policy in policies.items():
                for task in tasks:
                    c, mean_len = classify(policy, states[task], args.samples, temp, seed)
                    row = per_task.setdefault(task, {"counts": Counter(), "tokens": []})
                    row["counts"].update(c)
                    row["tokens"].append(mean_len)
                    total.update(c)
            n = sum(total.values())
            per_temp[f"{temp:g}"] = {
                "draws": n,
                "invalid": 1 - total["ok"] / n,
                "reasons": {k: v / n for k, v in sorted(total.items()) if k != "ok"},
                "per_task": {
                    t: {
                        "invalid": 1 - r["counts"]["ok"] / sum(r["counts"].values()),
                        "reasons": dict(r["counts"]),
                        "tokens_per_valid_chunk": sum(r["tokens"]) / len(r["tokens"]),
                    }
                    for t, r in per_task.items()
                },
            }
            print(
                f"{prefix:24s} T={temp:g}  invalid {per_temp[f'{temp:g}']['invalid']:.3f}  "
                + "  ".join(f"{k} {v:.3f}" for k, v in per_temp[f"{temp:g}"]["reasons"].items()),
                flush=True,
            )
        results[prefix] = per_temp
    payload = {
        "tasks": tasks,
        "seeds": args.seeds,
        "states_per_task": {t: len(s) for t, s in states.items()},
        "samples_per_state": args.samples,
        "results": results,
        "seconds": time.time() - t0,
    }
    write_result(args.name, payload, command_line("bench_vla_decode", argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
