#!/usr/bin/env bash
# Run a list of state-only `robo rl` jobs, N at a time, on a machine with many cores (the lent
# GPU machine has 16; nothing here needs the GPU). One job per line of JOBS:
#   <name> <robo rl arguments...>
# Each job writes $OUT/<name>/metrics.json (plots off) and its log to $OUT/logs/<name>.log;
# a job still running after LIMIT seconds is killed, and its log keeps the evaluations so far.
# With TAR=<file> everything under $OUT is packed into that one file at the end: the device
# tool brings back at most 8 files from $OUT (session 11 lost all but 8 of 112 this way).
#   OUT=$OUT/sweep TAR=$OUT/sweep.tgz JOBS=bench/gpu/rl_sweep_s11.txt N=16 LIMIT=490 bash bench/gpu/rl_sweep.sh
# Measured (session 11, H100 machine's 16 Xeon cores, 16 jobs at once): Meta-World state-only
# 10k steps 65-80 s, 12k from scratch ~105 s; SO-101 reach 40k steps ~270 s.
set -u
OUT=${OUT:-/tmp/rl_sweep}
JOBS=${JOBS:?a job list, one "<name> <robo rl args>" per line}
N=${N:-$(nproc)}
LIMIT=${LIMIT:-540}
PY=${PY:-python3}
mkdir -p "$OUT/logs"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OUT LIMIT PY
{ date -u; nproc; $PY -c "import torch; print('torch', torch.__version__)"; } > "$OUT/machine.txt" 2>&1
t0=$(date +%s)
run_one() {
  name=$1; shift
  timeout "$LIMIT" $PY -m robo.cli.main rl "$@" vec=dummy plot=false overwrite=true \
    out="$OUT/$name" > "$OUT/logs/$name.log" 2>&1
  echo "$name rc=$? $(( $(date +%s) - t0 ))s" >> "$OUT/done.txt"
}
export -f run_one
export t0
# One line per job, passed whole (xargs -d: no quote handling there) and split by the shell, so a
# quoted argument such as cameras='[front,side]' survives.
grep -v '^\s*#' "$JOBS" | grep -v '^\s*$' | xargs -d '\n' -n 1 -P "$N" bash -c 'eval "run_one $1"' _
echo "wall $(( $(date +%s) - t0 )) s" >> "$OUT/machine.txt"
uptime >> "$OUT/machine.txt"
if [ -n "${TAR:-}" ]; then tar czf "$TAR" -C "$(dirname "$OUT")" "$(basename "$OUT")" && rm -rf "$OUT"; fi
