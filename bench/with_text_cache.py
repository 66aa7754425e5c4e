"""Run a `robo` command on a machine without the MiniLM package, from carried embeddings.

The lent GPU machine has no package registry and the MiniLM model (88 MB) does not fit the
files that travel there. Export the instructions' embeddings here, carry the npz, and run the
command there through this wrapper, which fills the embedding cache first (any instruction not
in the npz then fails loudly, because MiniLM is missing)::

    python -m bench.with_text_cache --export .gpucarry/text.npz --tasks so101/reach
    python -m bench.with_text_cache --cache .gpucarry/text.npz -- rl task=so101/reach ...
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", default=None, help="write the tasks' instruction embeddings here")
    ap.add_argument("--tasks", default="", help="comma-separated task names for --export")
    ap.add_argument("--cache", default=None, help="npz to load before running the command")
    args = ap.parse_args(argv)
    from robo.reward.text import load_text_cache, save_text_cache

    if args.export:
        import sims

        tasks = [t for t in args.tasks.split(",") if t]
        if not tasks:
            ap.error("--export needs --tasks")
        texts = []
        for t in tasks:
            env = sims.make(t, render=False)
            texts.append(str(env.unwrapped.instruction))
            env.close()
        n = save_text_cache(args.export, texts)
        print(f"wrote {n} embeddings to {args.export}")
        return 0
    if not rest:
        ap.error("give the robo command after --, e.g. -- rl task=so101/reach")
    if args.cache:
        try:
            n = load_text_cache(args.cache)
        except (FileNotFoundError, ValueError) as err:
            ap.error(str(err))
        print(f"loaded {n} instruction embeddings from {args.cache}")
    from robo.cli.main import main as robo_main

    return robo_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
