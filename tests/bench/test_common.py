"""bench.common: the command line a result records must paste back into a shell."""

import shlex

from bench.common import command_line


def test_command_line_quotes_json_options_so_they_paste_back():
    argv = ["--seeds", "0", "--dagger", '{"rollouts": 30, "steps": 1200}', "--policy", "ck{s}"]
    line = command_line("bench_rft", argv)
    assert line.startswith("python -m bench.bench_rft --seeds 0 --dagger '{")
    assert shlex.split(line)[3:] == argv  # the shell gives back exactly the arguments run
    assert command_line("bench_x", []) == "python -m bench.bench_x"
