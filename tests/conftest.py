"""Unit tests never touch the network: sockets are disabled around each test (unix sockets allowed).

A test marked ``kernel`` starts a Jupyter kernel, which talks to it over loopback TCP; it keeps
sockets, and the kernel itself runs under the offline guard (see ../conftest.py).
"""

import pytest
import pytest_socket


@pytest.fixture(autouse=True)
def _no_network(request):
    if request.node.get_closest_marker("kernel"):
        yield
        return
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()
