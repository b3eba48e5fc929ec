"""`kraken-pipeline emulator`: starts, prints where to reach it and the demo credentials, stops.

The command runs as a real subprocess on a free port and is stopped with SIGINT, as Ctrl-C would.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from click.testing import CliRunner

from kraken_pipeline.cli import main
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

STARTUP_SECONDS = 30


class EmulatorCommand:
    """`kraken-pipeline emulator --port 0` as a subprocess, its output read by a thread."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "kraken_pipeline.cli", "emulator", "--port", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout as stdout:
            for line in stdout:
                self._lines.put(line)

    def banner(self) -> str:
        """The lines printed up to "Press Ctrl-C", waiting at most STARTUP_SECONDS."""
        printed: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        while not printed or not printed[-1].startswith("Press Ctrl-C"):
            remaining = max(deadline - time.monotonic(), 0.01)
            try:
                printed.append(self._lines.get(timeout=remaining))
            except queue.Empty:
                raise AssertionError(f"no banner in time: {''.join(printed)!r}") from None
        return "".join(printed)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STARTUP_SECONDS)
        self._reader.join(timeout=STARTUP_SECONDS)


@pytest.fixture
def running_cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`kraken-pipeline emulator --port 0` running, with its banner."""
    command = EmulatorCommand()
    try:
        yield command.process, command.banner()
    finally:
        command.stop()


def test_the_emulator_command_prints_urls_and_demo_credentials_that_work(
    running_cli: tuple[subprocess.Popen[str], str],
) -> None:
    _process, banner = running_cli
    token_url = re.search(r"token URL:\s+(\S+)", banner)
    graphql_url = re.search(r"GraphQL URL:\s+(\S+)", banner)
    assert token_url
    assert graphql_url
    assert f"client id:     {DEMO_CLIENT_ID}" in banner
    assert f"client secret: {DEMO_CLIENT_SECRET}" in banner

    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    token = requests.post(token_url[1], data=form, timeout=10).json()["access_token"]
    answer = requests.post(
        graphql_url[1],
        json={"query": '{ property(id: "1000001") { id } }'},
        headers={"Authorization": token},
        timeout=10,
    )
    assert answer.json() == {"data": {"property": {"id": "1000001"}}}


def test_ctrl_c_stops_the_emulator_cleanly(
    running_cli: tuple[subprocess.Popen[str], str],
) -> None:
    process, _banner = running_cli

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=STARTUP_SECONDS) == 0


def test_the_command_line_lists_the_emulator_command_and_refuses_a_bad_port() -> None:
    runner = CliRunner()

    listing = runner.invoke(main, ["--help"])
    refused = runner.invoke(main, ["emulator", "--port", "70000"])

    assert listing.exit_code == 0
    assert "emulator" in listing.output
    assert refused.exit_code == 2
    assert "70000" in refused.output


def test_the_emulator_command_refuses_an_unknown_profile_naming_the_known_ones() -> None:
    refused = CliRunner().invoke(main, ["emulator", "--port", "0", "--profile", "tight"])

    assert refused.exit_code == 2
    assert "unknown emulator profile 'tight'" in refused.output
    assert "strictest" in refused.output
