"""The ``robo`` command: ``robo <command> key=value ...``.

Each command is a module ``robo/cli/cmd_<name>.py`` defining ``HELP`` (one line) and
``run(cfg: DictConfig) -> int``; its config is ``configs/<name>.yaml`` composed by Hydra, so
every option can be overridden on the command line (``robo collect task=so101/reach
episodes=5``). Modules import heavy libraries inside ``run`` so ``robo --help`` stays fast.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from pathlib import Path

CLI_DIR = Path(__file__).resolve().parent
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


class CliError(Exception):
    """A user error: printed as one line with a hint, exit code 2."""


def _commands() -> dict[str, str]:
    """name -> one-line help, read from the modules' source without importing them."""
    out: dict[str, str] = {}
    for path in sorted(CLI_DIR.glob("cmd_*.py")):
        name = path.stem[4:].replace("_", "-")
        help_text = ""
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HELP" for t in node.targets
            ):
                help_text = ast.literal_eval(node.value)
        out[name] = help_text
    return out


def _usage() -> str:
    cmds = _commands()
    width = max(len(c) for c in cmds) if cmds else 10
    lines = [
        "usage: robo <command> [key=value ...]   (Hydra overrides; `robo <command> --help`)",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in cmds.items()]
    return "\n".join(lines)


def compose(command: str, overrides: list[str]):
    """The command's Hydra config with ``overrides`` applied."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    config_name = command.replace("-", "_")
    path = CONFIG_DIR / f"{config_name}.yaml"
    if not path.exists():
        return OmegaConf.create({})
    # A plain key that shares its name with a config group of another command (deploy's
    # `policy=<ckpt>` vs the `policy/` group of train-policy) would be read by Hydra as a group
    # choice: such overrides are applied after composition instead.
    late_keys = _plain_keys_shadowed_by_groups(OmegaConf.load(path))
    late = [o for o in overrides if o.split("=", 1)[0] in late_keys]
    overrides = [o for o in overrides if o not in late]
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = hydra_compose(config_name=config_name, overrides=overrides)
        for item in late:
            key, _, value = item.partition("=")
            OmegaConf.update(cfg, key, _parse_value(value), merge=False)
        return cfg
    except HydraException as err:
        first = str(err).strip().splitlines()[0]
        raise CliError(
            f"bad override for `robo {command}`: {first} "
            f"(hint: `robo {command} --help` shows the options; new keys need a leading +)"
        ) from None


def _plain_keys_shadowed_by_groups(primary) -> set[str]:
    """Top-level keys of a command config that are not group choices but name a group folder."""
    choices: set[str] = set()
    for entry in primary.get("defaults", []) or []:
        if isinstance(entry, str):
            choices.add(entry)
        else:
            choices.update(str(k).split("@")[0].lstrip("+~") for k in entry)
    return {
        str(k)
        for k in primary
        if k != "defaults" and k not in choices and (CONFIG_DIR / str(k)).is_dir()
    }


def _parse_value(text: str):
    """A command-line value as YAML (numbers, booleans, null, lists), else the raw string."""
    import yaml

    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    # `--dry-run` style flags become Hydra overrides (`dry_run=true`).
    rest = [
        f"{a[2:].replace('-', '_')}=true"
        if a.startswith("--") and "=" not in a and a not in ("--help",)
        else a
        for a in rest
    ]
    commands = _commands()
    if command not in commands:
        import difflib

        close = difflib.get_close_matches(command, list(commands), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "run `robo --help`"
        print(f"robo: unknown command {command!r}; {hint}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"robo.cli.cmd_{command.replace('-', '_')}")
    try:
        if "-h" in rest or "--help" in rest:
            from omegaconf import OmegaConf

            print(f"robo {command}: {commands[command]}\n\noptions (defaults):")
            print(OmegaConf.to_yaml(compose(command, [])) or "  (none)")
            return 0
        cfg = compose(command, rest)
        return int(module.run(cfg) or 0)
    except CliError as err:
        print(f"robo {command}: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, PermissionError, KeyError) as err:
        # Library errors carry a one-line reason + hint; no traceback for user errors.
        if os.environ.get("ROBO_DEBUG"):
            raise
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"robo {command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
