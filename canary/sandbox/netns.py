"""The sandbox's own network namespace: where every sandbox server, pod and request lives.

Kubernetes refuses loopback addresses in EndpointSlices, so the pods the node agent runs need
addresses that are not 127.0.0.0/8. The sandbox gives them addresses in `POD_CIDR`, which is
*local* inside a network namespace the sandbox creates for itself (a `local` route on that
namespace's `lo`), and nowhere else: no interface leads out of it, so nothing sent from inside
can reach another host, and nothing outside can address what is inside.

`enter()` moves the calling process into a fresh namespace. Call it once, early, before the
process starts any thread (the pytest plugin does it in `pytest_configure`; `canary demo` and
`canary sandbox up` do it before they start anything). Every child process inherits it. As root
it unshares only the network; unprivileged it also unshares a user namespace that maps the
caller to root inside (the same as `unshare -rn`), which the kernel allows to any user.

To look inside from another shell: `nsenter --target PID --net` (as root; add `--user
--preserve-credentials` when the sandbox was started unprivileged), with PID any sandbox process.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import subprocess
import threading
from pathlib import Path

POD_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
MARKER = "CANARY_SANDBOX_NETNS"  # holds the namespace's inode once a process has entered it

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000


class NamespaceError(RuntimeError):
    """The kernel refused a new namespace, or setting it up failed."""


def current() -> int:
    """The inode of this process's network namespace."""
    return Path("/proc/self/ns/net").stat().st_ino


def inside() -> bool:
    """Whether this process is already in a namespace made by `enter()` (here or a parent)."""
    return os.environ.get(MARKER) == str(current())


def enter() -> int:
    """Move this process into a new network namespace with `lo` up and `POD_CIDR` local.

    A no-op when already inside one (a child of a process that entered it). Returns the
    namespace's inode."""
    if inside():
        return current()
    if threading.active_count() > 1:
        raise NamespaceError("enter() must run before the process starts any thread")
    uid, gid = os.geteuid(), os.getegid()
    flags = _CLONE_NEWNET if uid == 0 else _CLONE_NEWNET | _CLONE_NEWUSER
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise NamespaceError(f"unshare failed: {os.strerror(errno)} (errno {errno})")
    if uid != 0:
        _map_to_root(uid, gid)
    _run("ip", "link", "set", "lo", "up")
    _run("ip", "route", "add", "local", str(POD_CIDR), "dev", "lo")
    inode = current()
    os.environ[MARKER] = str(inode)
    return inode


def _in_own_user_namespace() -> bool:
    """Whether this process runs in a user namespace of its own (`enter()` made one because it
    was started unprivileged): the initial namespace maps every uid onto itself."""
    try:
        first = Path("/proc/self/uid_map").read_text().split("\n", 1)[0].split()
    except OSError:
        return False
    return first != ["0", "0", "4294967295"]


def _map_to_root(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NamespaceError(f"{' '.join(cmd)}: {done.stderr.strip()}")


def pod_address(index: int) -> str:
    """The `index`-th pod address (1-based) in `POD_CIDR`, skipping the network address."""
    if not 0 < index < POD_CIDR.num_addresses - 1:
        raise ValueError(f"pod index {index} is outside {POD_CIDR}")
    return str(POD_CIDR.network_address + index)


def enter_command(pid: int) -> str:
    """The shell prefix that runs a command inside the namespace of process `pid` (made by
    `enter()`), from another shell of the same user."""
    if os.geteuid() == 0 and not _in_own_user_namespace():
        return f"nsenter --target {pid} --net"
    return f"nsenter --target {pid} --user --preserve-credentials --net"
