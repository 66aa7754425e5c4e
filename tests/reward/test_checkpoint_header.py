import pickle

import pytest

from robo.reward.checkpoint import CheckpointError, _check_safetensors_file


def test_safetensors_header_starting_with_0x80_is_accepted(tmp_path):
    # Header length 0x80 = 128 -> first byte 0x80, like a pickle's protocol opcode.
    path = tmp_path / "w.safetensors"
    path.write_bytes((128).to_bytes(8, "little") + b"{" + b" " * 127)
    _check_safetensors_file(path)


def test_pickle_is_refused(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        _check_safetensors_file(path)
