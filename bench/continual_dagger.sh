#!/usr/bin/env bash
# Continual fine-tuning of the d20 VLA (4 Meta-World tasks) on two new tasks, one after the
# other, with DAgger (bench_rft --mode dagger; demos of every task seen so far are replayed in
# each minibatch). Forgetting = old tasks' sampled success before stage 1 vs after stage 2.
#   bash bench/continual_dagger.sh <seed>     (one process per seed; ~20-30 min on this CPU)
set -eu
s=${1:?seed}
OLD=metaworld/reach,metaworld/push,metaworld/pick-place,metaworld/drawer-open
A=${A:-metaworld/drawer-close}
B=${B:-metaworld/button-press-topdown}
PY=${PY:-.venv/bin/python}
REPLAY=${REPLAY:-true}       # false: the no-replay control (demos of the stage's new task only)
tag=$([ "$REPLAY" = true ] && echo "" || echo "_noreplay")
common=(--mode dagger --seeds "$s" --eval-episodes 30 --lockstep 10 --demos 20
        --visited '{"label_prob": 0.5}'
        --dagger "{\"rollouts\": 30, \"steps\": 400, \"rounds\": 3, \"replay\": $REPLAY}")
$PY -m bench.bench_rft "${common[@]}" --tasks "$OLD,$A" --train-tasks "$A" \
  --policy 'checkpoints/policies/vla-metaworld4-d20-s{seed}' \
  --save "outputs/policies/continual${tag}-stage1-s{seed}" --name "rft_continual${tag}_stage1_s$s"
$PY -m bench.bench_rft "${common[@]}" --tasks "$OLD,$A,$B" --train-tasks "$B" \
  --policy "outputs/policies/continual${tag}-stage1-s{seed}" \
  --save "outputs/policies/continual${tag}-stage2-s{seed}" --name "rft_continual${tag}_stage2_s$s"
