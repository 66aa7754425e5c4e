import dataclasses
import warnings

import numpy as np
import pytest
import torch

from robo.policy import ChunkPolicy, DiffusionConfig, DiffusionPolicy
from robo.policy.ddim import cosine_alphas_cumprod, ddim_timesteps
from robo.policy.train import TrainConfig, random_shift, train_diffusion
from robo.steer import BestOfN, GradientGuidance, ParticleSteering

from .conftest import obs_of, toy_episode


def test_bc_learns_the_state_dependent_chunk(tiny_config):
    episodes = [toy_episode(s) for s in range(8)]
    config = dataclasses.replace(tiny_config, cameras=())  # state-only keeps the test fast
    train = TrainConfig(steps=300, batch_size=32, lr=3e-3, ema=0.9, log_every=1000)
    policy, stats = train_diffusion(episodes, config, train, log=lambda s: None)
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    g = torch.Generator().manual_seed(0)
    for ep in (toy_episode(100), toy_episode(101)):  # unseen seeds, one of each sign
        chunks = policy.sample(obs_of(ep), n=16, generator=g)
        assert chunks.shape == (16, 8, 2)
        sign = np.sign(ep.state[0, 0])
        assert (torch.sign(chunks[..., 0].mean(1)) == sign).float().mean() >= 0.75


def test_protocol_nfe_and_no_log_prob(tiny_config):
    policy = DiffusionPolicy(tiny_config)
    assert isinstance(policy, ChunkPolicy)
    assert (policy.horizon, policy.action_dim, policy.executed) == (8, 2, 4)
    policy.sample(obs_of(toy_episode(0)), n=3)
    assert policy.last_info["nfe"] == 3 * 8 and policy.last_info["calls"] == 8
    with pytest.raises(NotImplementedError, match="no tractable log_prob"):
        policy.log_prob(obs_of(toy_episode(0)), torch.zeros(1, 8, 2))


def _cost(actions, context):
    return (actions[..., 0] - 0.5).pow(2).mean(1)


@pytest.mark.parametrize(
    "steer",
    [
        GradientGuidance(_cost, scale=0.5, inner_steps=2),
        ParticleSteering(_cost, particles=6, guidance_scale=0.2, repulsion_scale=0.1),
        BestOfN(_cost, num_samples=6),
    ],
    ids=["guidance", "smc", "best_of_n"],
)
def test_steering_leaves_weights_untouched(tiny_config, steer):
    policy = DiffusionPolicy(tiny_config)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    grads_before = [p.grad for p in policy.parameters()]
    out = policy.sample(obs_of(toy_episode(0)), n=2, steer=steer)
    assert out.shape == (2, 8, 2)
    after = policy.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert all(g is None for g in grads_before) and all(p.grad is None for p in policy.parameters())


def test_config_validation():
    with pytest.raises(ValueError, match="executed=9"):
        DiffusionConfig(action_dim=2, state_dim=3, horizon=8, executed=9)
    with pytest.raises(ValueError, match="divisible"):
        DiffusionConfig(action_dim=2, state_dim=3, horizon=6, executed=2, unet_dims=(8, 16, 32))
    with pytest.raises(ValueError, match="unknown diffusion config keys"):
        DiffusionConfig.from_dict({"action_dim": 2, "state_dim": 3, "bogus": 1})


def test_bad_observations_are_named(tiny_config):
    policy = DiffusionPolicy(tiny_config)
    obs = obs_of(toy_episode(0))
    with pytest.raises(ValueError, match="lacks cameras"):
        policy.sample({**obs, "images": {}})
    with pytest.raises(ValueError, match="state has 2 dims"):
        policy.sample({**obs, "state": np.zeros(2, np.float32)})


def test_schedule_and_augmentation():
    a = cosine_alphas_cumprod(100)
    assert a[0] > 0.99 and a[-1] < 1e-3 and torch.all(a[1:] < a[:-1])
    ts = ddim_timesteps(100, 10)
    assert ts[0] == 90 and ts[-1] == 0 and len(ts) == 10
    imgs = torch.rand(2, 3, 3, 16, 16)
    out = random_shift(imgs, 2, torch.Generator().manual_seed(0))
    assert out.shape == imgs.shape


def test_image_windows_and_a_training_step(tiny_config):
    from robo.policy.train import ChunkWindows

    episodes = [toy_episode(s) for s in range(2)]
    policy, stats = train_diffusion(
        episodes,
        tiny_config,
        TrainConfig(steps=2, batch_size=4, log_every=1000),
        log=lambda s: None,
    )
    data = ChunkWindows(episodes, policy)
    assert data.images.shape == (24, 1, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.actions.shape == (24, 8, 2)
    torch.testing.assert_close(data.actions[11], torch.from_numpy(episodes[0].action[[11] * 8]))
    assert np.isfinite(stats["loss_last"])


# -- fast sampling path (policy.fast): same maths as the eager network ---------------------


def _policy(config, seed=0):
    torch.manual_seed(seed)
    policy = DiffusionPolicy(config).eval()
    with torch.no_grad():  # non-trivial normaliser and FiLM/GroupNorm affine terms
        policy.normalizer.action_low.copy_(-0.5 - torch.rand(config.action_dim))
        policy.normalizer.action_high.copy_(0.5 + torch.rand(config.action_dim))
        for m in policy.unet.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)
    return policy


SHAPES = {  # (config overrides) small, state-only bench-sized, 3-level
    "tiny": {},
    "state_32_64": {"cameras": (), "unet_dims": (32, 64), "horizon": 16, "executed": 8},
    "three_levels": {"cameras": (), "unet_dims": (8, 16, 32), "horizon": 16, "executed": 8},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_fast_trunk_matches_the_eager_unet(tiny_config, shape):
    from robo.policy.nets import FastTrunk

    config = dataclasses.replace(tiny_config, **SHAPES[shape])
    unet = _policy(config).unet
    g = torch.Generator().manual_seed(1)
    cond = torch.randn(1, unet.film_blocks()[0].film[1].in_features - 64, generator=g)
    steps = ddim_timesteps(config.num_train_steps, config.num_inference_steps)
    t = torch.tensor(steps)
    traced = None
    with torch.no_grad():
        table, weights = unet.film_table(t, cond), unet.fast_weights()
        for k in (0, len(steps) // 2, len(steps) - 1):
            for b in (1, 3, 8):
                x = torch.randn(b, config.horizon, config.action_dim, generator=g)
                ref = unet(x, t[k].expand(b), cond.expand(b, -1))
                films = [f[k : k + 1] for f in table]
                torch.testing.assert_close(
                    unet.forward_fast(x, films, weights), ref, atol=1e-5, rtol=0
                )
                if traced is None:  # traced once (batch 1), then reused for other batches
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", FutureWarning)  # deprecated, works
                        traced = torch.jit.trace(
                            FastTrunk(unet).forward, (x, *films, *weights), check_trace=False
                        )
                torch.testing.assert_close(traced(x, *films, *weights), ref, atol=1e-5, rtol=0)


def _steers(particles=6):
    return {
        "none": None,
        "guidance": GradientGuidance(_cost, scale=0.5, inner_steps=2, eta=0.5),
        "smc": ParticleSteering(
            _cost,
            particles=particles,
            beta=20.0,
            guidance_scale=0.2,
            inner_steps=2,
            repulsion_scale=0.1,
        ),  # fmt: skip
        "best_of_n": BestOfN(_cost, num_samples=particles, eta=1.0),
    }


@pytest.mark.parametrize("method", ["none", "guidance", "smc", "best_of_n"])
@pytest.mark.parametrize("shape", ["tiny", "state_32_64"])
def test_fast_and_eager_sampling_give_the_same_chunks(tiny_config, method, shape):
    config = dataclasses.replace(tiny_config, **SHAPES[shape])
    policy = _policy(config)
    obs = obs_of(toy_episode(0))
    obs["state"] = np.asarray(obs["state"], np.float32)
    out = {}
    for fast in (False, True):
        policy.fast = fast
        steer = _steers()[method]
        if steer is not None and hasattr(steer, "generator"):
            steer.generator = torch.Generator().manual_seed(5)
        n = 1 if steer is None else 2
        out[fast] = policy.sample(obs, n=n, steer=steer, generator=torch.Generator().manual_seed(4))
        info = dict(policy.last_info)
        assert (
            info["nfe"] == (n if method in ("none", "guidance") else 6) * config.num_inference_steps
        )
    torch.testing.assert_close(out[True], out[False], atol=1e-5, rtol=0)
    assert policy._trunks.modules, "the fast path was not used"


def test_fast_path_reads_the_current_weights_and_stays_out_of_checkpoints(tiny_config, tmp_path):
    import copy

    policy = _policy(dataclasses.replace(tiny_config, cameras=()))
    keys = set(policy.state_dict())
    obs = {"images": {}, "state": np.array([0.7, 0.1, 0.0], np.float32), "instruction": ""}

    def both():
        res = []
        for fast in (False, True):
            policy.fast = fast
            res.append(policy.sample(obs, n=2, generator=torch.Generator().manual_seed(0)))
        return res

    eager, fast = both()  # builds and checks the trace
    torch.testing.assert_close(fast, eager, atol=1e-5, rtol=0)
    with torch.no_grad():  # an in-place update (optimizer step, EMA, load_state_dict)
        for p in policy.unet.parameters():
            p.mul_(1.3).add_(0.01)
    eager2, fast2 = both()
    assert (eager2 - eager).abs().max() > 1e-2  # the update matters...
    torch.testing.assert_close(fast2, eager2, atol=1e-5, rtol=0)  # ...and the fast path sees it
    assert set(policy.state_dict()) == keys
    clone = copy.deepcopy(policy)  # the trace cache is not copied; the copy builds its own
    assert not clone._trunks.modules
    torch.testing.assert_close(
        clone.sample(obs, n=2, generator=torch.Generator().manual_seed(0)), fast2, atol=0, rtol=0
    )
    policy.save(tmp_path / "ckpt")
    from robo.policy import load_policy

    loaded = load_policy(tmp_path / "ckpt")
    torch.testing.assert_close(
        loaded.sample(obs, n=2, generator=torch.Generator().manual_seed(0)), fast2, atol=0, rtol=0
    )


def test_fast_path_falls_back_to_eager_with_one_warning(tiny_config, monkeypatch):
    from robo.policy.nets import ConditionalUnet1D

    policy = _policy(dataclasses.replace(tiny_config, cameras=()))
    obs = {"images": {}, "state": np.array([0.7, 0.1, 0.0], np.float32), "instruction": ""}
    policy.fast = False
    eager = policy.sample(obs, n=2, generator=torch.Generator().manual_seed(0))
    real = ConditionalUnet1D.forward_fast
    monkeypatch.setattr(  # a wrong fast trunk (e.g. a future layer it does not know)
        ConditionalUnet1D, "forward_fast", lambda self, x, f, w: real(self, x, f, w) + 1e-3
    )
    policy.fast = True
    with pytest.warns(UserWarning, match="differs from the eager one.*using the eager network"):
        out = policy.sample(obs, n=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, eager, atol=0, rtol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: the decision is cached
        out = policy.sample(obs, n=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, eager, atol=0, rtol=0)


def test_process_action_map_and_vjp_are_the_normalizers(tiny_config):
    """The per-chunk ``to_actions`` (span computed once) is bitwise
    ``normalizer.unnormalize_action``, and ``to_actions_vjp`` is bitwise autograd's VJP."""
    torch.manual_seed(0)
    policy = DiffusionPolicy(tiny_config).eval()
    policy.normalizer.fit(torch.randn(50, 2) * 3, torch.randn(50, 3))
    proc = policy.process(obs_of(toy_episode(0)))
    x = torch.rand(4, 8, 2) * 2 - 1
    assert torch.equal(proc.to_actions(x), policy.normalizer.unnormalize_action(x))
    xg = x.clone().requires_grad_(True)
    g = torch.randn(4, 8, 2)
    (ref,) = torch.autograd.grad((policy.normalizer.unnormalize_action(xg) * g).sum(), xg)
    assert torch.equal(proc.to_actions_vjp(g), ref)


def test_sampler_tensors_follow_the_process_device():
    """Noise, timesteps and chunks live on the process's device (no GPU here: the ``meta``
    device stands in, which the old CPU-only noise and timesteps would fail); a CPU generator
    still gives bitwise the CPU noise, so the CPU path is unchanged."""
    from robo.policy.ddim import DDIMProcess

    seen = []

    def eps_fn(x, t):
        seen.append((t.device, t.dtype))
        return torch.zeros_like(x)

    proc = DDIMProcess(eps_fn, cosine_alphas_cumprod(50), 5, (8, 2), eta=1.0,
                       generator=torch.Generator().manual_seed(3))  # fmt: skip
    assert proc.device == torch.device("cpu")
    ref = torch.randn((4, 8, 2), generator=torch.Generator().manual_seed(3))
    assert torch.equal(proc.noise(4), ref)
    meta = torch.device("meta")
    proc.device = meta
    assert proc.noise(2).device == meta  # drawn on the CPU generator, moved
    proc.generator = None
    assert proc.noise(2).device == meta  # the device's own RNG
    _, x0 = proc.denoise(torch.empty(3, 8, 2, device=meta), 1)
    assert seen == [(meta, torch.long)] and x0.device == meta


def test_sample_returns_cpu_chunks(tiny_config):
    policy = DiffusionPolicy(tiny_config).eval()
    chunk = policy.sample(obs_of(toy_episode(0)), generator=torch.Generator().manual_seed(0))
    assert chunk.device == torch.device("cpu") and chunk.shape == (1, 8, 2)


def test_training_loss_runs_on_the_policy_device(tiny_config):
    """``device=cuda`` training: the loss's noise and timesteps come from the CPU generator and
    follow the batch to the network's device (no GPU here: the ``meta`` device stands in)."""
    policy = DiffusionPolicy(dataclasses.replace(tiny_config, cameras=())).to("meta")
    batch = {
        "state": torch.zeros(4, 3, device="meta"),
        "actions": torch.zeros(4, 8, 2, device="meta"),
    }
    loss = policy.loss(batch, generator=torch.Generator().manual_seed(0))
    assert loss.device.type == "meta" and loss.shape == ()


def test_train_on_an_explicit_device_is_seeded_and_returns_a_cpu_policy(tiny_config):
    episodes = [toy_episode(s) for s in range(2)]
    config = dataclasses.replace(tiny_config, cameras=())
    train = TrainConfig(steps=3, batch_size=4, log_every=1000)
    a, _ = train_diffusion(episodes, config, train, log=lambda s: None)
    b, _ = train_diffusion(episodes, config, train, log=lambda s: None, device="cpu")
    assert all(t.device.type == "cpu" for t in b.state_dict().values())
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=0, atol=0)
