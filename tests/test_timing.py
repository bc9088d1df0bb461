"""analysis.timing: stages add up per name, start again on take, and pass from a batch kernel to the batch."""

from __future__ import annotations

import time

from analysis import timing


def test_stages_add_up_by_name_and_start_again_after_take():
    timing.take()
    for _ in range(2):
        with timing.stage("a"):
            time.sleep(0.01)
    with timing.stage("b"):
        pass
    timing.absorb({"b": 1.5})
    first = timing.take()
    assert set(first) == {"a", "b"} and first["a"] >= 0.02 and first["b"] >= 1.5
    assert timing.take() == {}


def test_a_kernel_hands_its_stages_to_the_batch_only_when_the_batch_started_it(tmp_path, monkeypatch):
    timing.take()
    monkeypatch.delenv(timing.KERNEL_ENV, raising=False)
    with timing.stage("charts"):
        pass
    timing.write_kernel_stages(tmp_path)          # a notebook run on its own leaves no file
    assert not (tmp_path / timing.KERNEL_FILE).exists()
    monkeypatch.setenv(timing.KERNEL_ENV, "1")
    for seconds in (0.25, 0.5):                   # two notebooks of one report
        timing.absorb({"charts": seconds})
        timing.write_kernel_stages(tmp_path)
    assert timing.read_kernel_stages(tmp_path) == {"charts": 0.75}
    assert not (tmp_path / timing.KERNEL_FILE).exists()   # not an output of the report
