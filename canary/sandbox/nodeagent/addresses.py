"""Pod addresses for the node agent: one per running Pod, from the sandbox namespace's
`POD_CIDR` (see `canary.sandbox.netns`), never handed out twice while in use. Pure bookkeeping."""

from __future__ import annotations

from canary.sandbox import netns

# Addresses below this index are left to tests and tools that pick a pod address by hand.
FIRST_INDEX = 1000


class AddressesExhausted(RuntimeError):
    """Every address of the range is in use."""


class PodAddresses:
    """Allocates the lowest free pod address; `release` makes it free again."""

    def __init__(self, *, first: int = FIRST_INDEX, last: int | None = None) -> None:
        self.first = first
        self.last = last if last is not None else netns.POD_CIDR.num_addresses - 2
        self._by_owner: dict[str, int] = {}
        self._used: set[int] = set()

    def allocate(self, owner: str) -> str:
        """The address of `owner` (a Pod's uid): the one it holds, else the lowest free one."""
        if owner in self._by_owner:
            return netns.pod_address(self._by_owner[owner])
        index = next((i for i in range(self.first, self.last + 1) if i not in self._used), None)
        if index is None:
            raise AddressesExhausted(f"no free pod address in {netns.POD_CIDR} from {self.first}")
        self._used.add(index)
        self._by_owner[owner] = index
        return netns.pod_address(index)

    def release(self, owner: str) -> None:
        index = self._by_owner.pop(owner, None)
        if index is not None:
            self._used.discard(index)

    def in_use(self) -> dict[str, str]:
        """Owner → address, for every address handed out."""
        return {owner: netns.pod_address(i) for owner, i in self._by_owner.items()}
