"""RL with shaped rewards on stable-baselines3 SAC (``robo rl``) and its comparison tools.

* :mod:`robo.rl.envs`: flat policy observations, vector envs, batched reward shaping.
* :mod:`robo.rl.train`: one run (:class:`RLConfig`, :func:`train_seed`) with a demo warm start.
* :mod:`robo.rl.progress`: the GRM as a Markov potential (anchored to a demo's frames).
* :mod:`robo.rl.stats`, :mod:`robo.rl.compare`: IQM + stratified bootstrap CIs, tables, plots.
"""

from robo.rl.stats import iqm, ratio_bootstrap_ci, stratified_bootstrap_ci, wilson_ci

__all__ = ["iqm", "ratio_bootstrap_ci", "stratified_bootstrap_ci", "wilson_ci"]
