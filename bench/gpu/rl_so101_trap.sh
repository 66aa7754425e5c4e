#!/usr/bin/env bash
# SO-101 reach, raw Φ / naive ΔΦ / PBRS with the so101-reach-neg GRM, one process per
# (scheme, seed), all at once: written for the lent GPU machine (16 cores, EGL on the GPU,
# the learner and the reward model on cuda). Results: $OUT/<scheme>/s<seed>/metrics.json,
# logs $OUT/logs/. Same recipe as bench/results/rl_so101/README.md (session 8).
#   STEPS=20000 DEVICE=cuda SCHEMES="raw naive pbrs" SEEDS="0 1 2 3 4" LIMIT=520 bash bench/gpu/rl_so101_trap.sh
# Measured (session 9, H200 + 16 cores, all 15 processes at once, everything on cuda): about
# 16 env steps/s per process (load 16.7): 7000 of 20 000 steps in 430 s, so nothing finished
# inside one 10-minute call. Small SAC nets gain nothing on a shared GPU; this CPU runs the same
# raw-GRM seed at ~30 steps/s alone. Next time: fewer processes, STEPS that fit the call, and
# the learner on the CPU with only the GRM on the GPU: DEVICE=cpu EXTRA="reward_device=cuda"
# (measured side by side, 2 processes, 3000 steps: 33 s vs 48 s all on cuda).
set -u
OUT=${OUT:-/tmp/rl_so101_trap}
STEPS=${STEPS:-20000}
DEVICE=${DEVICE:-cuda}
SCHEMES=${SCHEMES:-"raw naive pbrs"}
SEEDS=${SEEDS:-"0 1 2 3 4"}
LIMIT=${LIMIT:-520}          # seconds per process (a process still running is killed)
PY=${PY:-python3}
EXTRA=${EXTRA:-}
mkdir -p "$OUT/logs"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
{ date -u; nproc; nvidia-smi -L 2>/dev/null; $PY -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"; } > "$OUT/machine.txt" 2>&1
t0=$(date +%s)
for scheme in $SCHEMES; do
  for s in $SEEDS; do
    timeout "$LIMIT" $PY -m bench.with_text_cache --cache .gpucarry/text.npz -- rl \
      task=so101/reach action=delta scheme="$scheme" progress=checkpoints/reward/so101-reach-neg \
      calibrate=3 image_size=96 demos=50 max_delta=0.05 steps="$STEPS" seeds=1 seed0="$s" \
      vec=dummy device="$DEVICE" out="$OUT/$scheme/s$s" overwrite=true $EXTRA \
      > "$OUT/logs/$scheme-s$s.log" 2>&1 &
  done
done
wait
echo "wall $(( $(date +%s) - t0 )) s" >> "$OUT/machine.txt"
uptime >> "$OUT/machine.txt"
for f in "$OUT"/logs/*.log; do echo "== $f"; tr '\r' '\n' < "$f" | tail -3; done
