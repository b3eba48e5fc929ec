"""Telling whether the process that executed an in-process run is still there.

The whole path (a command SIGKILLed mid-run, the next command marking its run failed) is in
e2e/resilience/test_crashes.py; these are the cases a kill cannot easily stage.
"""

import os
import subprocess
import sys
from dataclasses import replace

from kraken_pipeline.cli.run_owner import OWNER_TAG, RunOwner, owner_tags


def test_the_running_process_is_not_gone() -> None:
    owner = RunOwner.parse(owner_tags()[OWNER_TAG])

    assert owner == RunOwner.this_process()
    assert owner is not None
    assert owner.pid == os.getpid()
    assert not owner.is_gone()


def test_a_process_that_has_exited_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert replace(RunOwner.this_process(), pid=child.pid, started="").is_gone()


def test_a_new_process_that_reuses_the_pid_is_not_the_owner() -> None:
    earlier = replace(RunOwner.this_process(), started="1")  # same pid, another start time

    assert earlier.is_gone()


def test_a_process_on_another_host_is_never_judged_from_here() -> None:
    elsewhere = replace(RunOwner.this_process(), host="another-host", pid=2**22 + 1)

    assert not elsewhere.is_gone()


def test_tags_of_other_origins_name_no_owner() -> None:
    assert RunOwner.parse("") is None
    assert RunOwner.parse("not-a-process") is None
    assert RunOwner.parse("host@notapid:1") is None
