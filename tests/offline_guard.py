"""Refuse network connections to anything but this machine.

Loaded into every notebook kernel the test run starts (as an IPython startup file) and usable in
any process: after :func:`install`, ``socket.connect`` to a non-loopback address raises
:class:`NetworkBlocked` before anything is sent. Unix sockets and loopback (which the kernel
machinery itself uses) stay allowed. Notebooks must run offline; this makes a download fail loudly.
"""

import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class NetworkBlocked(OSError):
    """A connection to a non-loopback address was attempted while the network is blocked."""


def allowed(address) -> bool:
    """True for unix-socket paths and loopback hosts (localhost, 127.0.0.0/8, ::1)."""
    if not isinstance(address, tuple):
        return True
    host = str(address[0])
    return host in ("localhost", "::1") or host.startswith("127.")


def _refuse(address) -> None:
    raise NetworkBlocked(
        f"network access is blocked while the course runs its tests (tried to connect to {address!r}); "
        "notebooks must run offline — use lessons.data or files that ship with installed packages"
    )


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not allowed(address):
        _refuse(address)
    return _original_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not allowed(address):
        _refuse(address)
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


if __name__ == "__main__":
    install()  # executed as an IPython startup file (or as a script)
