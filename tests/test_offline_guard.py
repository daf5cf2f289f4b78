"""The network guard that notebook kernels run under: loopback allowed, everything else refused.

No packet leaves the machine in these tests: the real ``connect`` is replaced by a recorder.
"""

import socket

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests import offline_guard


class FakeSocket:
    family = socket.AF_INET


@pytest.fixture
def recorder(monkeypatch):
    calls = []
    monkeypatch.setattr(offline_guard, "_original_connect", lambda sock, address: calls.append(address))
    return calls


def test_allowed_addresses():
    assert offline_guard.allowed(("127.0.0.1", 8888))
    assert offline_guard.allowed(("127.5.0.1", 1))
    assert offline_guard.allowed(("localhost", 80))
    assert offline_guard.allowed(("::1", 80, 0, 0))
    assert offline_guard.allowed("/tmp/kernel.sock")
    assert not offline_guard.allowed(("192.0.2.1", 443))
    assert not offline_guard.allowed(("download.pytorch.org", 443))


def test_guard_refuses_before_connecting_and_passes_loopback(recorder):
    with pytest.raises(offline_guard.NetworkBlocked, match="network access is blocked"):
        offline_guard._guarded_connect(FakeSocket(), ("192.0.2.1", 443))
    assert recorder == []  # nothing was attempted
    offline_guard._guarded_connect(FakeSocket(), ("127.0.0.1", 9))
    assert recorder == [("127.0.0.1", 9)]


@pytest.mark.kernel
def test_notebook_kernels_start_with_the_guard_installed():
    # ../conftest.py points IPYTHONDIR at a profile whose startup file is the guard
    nb = new_notebook(cells=[new_code_cell("import socket\nprint(socket.socket.connect.__name__)")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert nb.cells[0].outputs[0]["text"].strip() == "_guarded_connect"
