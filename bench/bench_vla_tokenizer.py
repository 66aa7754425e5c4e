"""Action tokenizers on real demo chunks: per-dimension bins vs FAST-style DCT + BPE.

Expert demos of the VLA bench's four Meta-World tasks (state-only, no rendering): the first
``--demos`` seeds per task fit the range (and the BPE vocabulary), the next ``--test-demos``
seeds are scored. Per tokenizer: tokens per chunk (mean and max; FAST without its EOS), the
round-trip error in action units (mean and max absolute, and the RMS), and encode + decode time
per chunk in the same run. Writes ``bench/results/<name>.json``.

    python -m bench.bench_vla_tokenizer
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.bench_vla import TASKS
from bench.common import command_line, write_result


def chunks_of(episodes: list, horizon: int) -> np.ndarray:
    """float32[N, H, A]: every step's chunk (past the end: the last action repeated)."""
    out = []
    for ep in episodes:
        act = np.asarray(ep.action, np.float32)
        pad = np.concatenate([act, np.repeat(act[-1:], horizon - 1, 0)])
        out += [pad[t : t + horizon] for t in range(len(act))]
    return np.stack(out)


def score(tok, test, repeats: int = 3) -> dict[str, float]:  # noqa: ANN001
    """Round trip and length of ``tok`` on float[N, H, A] test chunks (a torch tensor)."""
    t0 = time.perf_counter()
    for _ in range(repeats):
        ids = tok.encode(test)
        back, valid = tok.decode(ids)
    per_chunk_ms = (time.perf_counter() - t0) / repeats / len(test) * 1e3
    err = (back - test).abs()
    mask = tok.token_mask(ids)
    eos = getattr(tok, "eos", None)
    lengths = mask.sum(1) - (1 if eos is not None else 0)
    return {
        "valid": float(valid.float().mean()),
        "tokens_mean": float(lengths.float().mean()),
        "tokens_max": int(lengths.max()),
        "abs_err_mean": float(err.mean()),
        "abs_err_max": float(err.max()),
        "rms_err": float(err.pow(2).mean().sqrt()),
        "encode_decode_ms_per_chunk": per_chunk_ms,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=TASKS)
    ap.add_argument("--demos", type=int, default=20, help="fit demos per task")
    ap.add_argument("--test-demos", type=int, default=10, help="scored demos per task")
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--bins", type=int, default=128)
    ap.add_argument("--scales", default="5,10,20", help="FAST DCT scales to try")
    ap.add_argument("--fast-vocab", type=int, default=256)
    ap.add_argument("--name", default="vla_tokenizer")
    ap.add_argument("--quick", action="store_true", help="4 + 2 demos per task (smoke)")
    args = ap.parse_args(argv)
    if args.quick:
        args.demos, args.test_demos, args.name = 4, 2, args.name + "_quick"
    import torch

    from robo.cli.vla_envs import vla_demos
    from robo.policy.normalizer import Normalizer
    from robo.policy.vla import BinningTokenizer, DCTBPETokenizer

    torch.set_num_threads(1)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    t0 = time.time()
    fit_eps = vla_demos(tasks, args.demos, 0, "privileged", ())
    test_eps = vla_demos(tasks, args.test_demos, 10_000, "privileged", ())
    fit = torch.from_numpy(chunks_of(fit_eps, args.horizon))
    test = torch.from_numpy(chunks_of(test_eps, args.horizon))
    h, a = fit.shape[1:]
    norm = Normalizer(a, 1)
    norm.fit(fit.reshape(-1, a), torch.zeros(len(fit), 1))
    low, high = norm.action_low, norm.action_high
    rows: dict[str, dict] = {}
    bins = BinningTokenizer(h, a, args.bins, low, high)
    rows[f"bins{args.bins}"] = score(bins, test)
    for scale in (float(s) for s in args.scales.split(",")):
        tok = DCTBPETokenizer(h, a, scale, args.fast_vocab, low, high)
        fit_stats = tok.fit(fit)
        rows[f"fast_s{scale:g}"] = {**score(tok, test), "merges": fit_stats["merges"]}
    payload = {
        "tasks": tasks,
        "fit_chunks": len(fit),
        "test_chunks": len(test),
        "horizon": h,
        "action_dim": a,
        "action_range": {"low": low.tolist(), "high": high.tolist()},
        "tokenizers": rows,
        "seconds": time.time() - t0,
    }
    write_result(args.name, payload, command_line("bench_vla_tokenizer", argv))
    for k, r in rows.items():
        print(
            f"{k:10s} tokens {r['tokens_mean']:5.1f} (max {r['tokens_max']:2d})  "
            f"err mean {r['abs_err_mean']:.4f} max {r['abs_err_max']:.4f}  "
            f"{r['encode_decode_ms_per_chunk']:.3f} ms/chunk"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
