import pytest

from robo.cli.main import _commands, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in _commands():
        assert name in out
    assert "collect" in out and "tasks" in out


def test_unknown_command_suggests(capsys):
    assert main(["colect"]) == 2
    assert "did you mean collect" in capsys.readouterr().err


def test_bad_override_is_one_line_error(capsys):
    assert main(["tasks", "nosuchkey=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "hint" in err


def test_flag_becomes_override(capsys):
    # `--family` is turned into family=true; tasks then prints nothing for that family.
    assert main(["tasks", "--family"]) == 0


@pytest.mark.parametrize("command", sorted(_commands()))
def test_command_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert command in capsys.readouterr().out


def test_plain_key_named_like_a_config_group_is_a_value():
    from robo.cli.main import compose

    cfg = compose("deploy", ["policy=scripted", "duration=3"])
    assert cfg.policy == "scripted" and cfg.duration == 3
    assert compose("rl", ["reward=sparse"]).reward == "sparse"
