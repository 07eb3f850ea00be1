"""The sandbox's image catalog: which container images the node agent can "run", and how.

There is no container runtime: an image names one of the sandbox's own programs, started as a
local process bound to the pod's address. Pure: parsing and command building, no I/O.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImageRef:
    """An image reference split the way the catalog looks it up: the last path segment of the
    repository (any registry or organisation prefix dropped) and the tag (`latest` if none)."""

    reference: str
    name: str
    tag: str

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        without_digest = reference.split("@", 1)[0]
        last = without_digest.rsplit("/", 1)[-1]
        name, _, tag = last.partition(":")
        return cls(reference, name, tag or "latest")

    @property
    def image_id(self) -> str:
        """A stable stand-in for the digest a runtime would report (`imageID`)."""
        digest = hashlib.sha256(f"{self.name}:{self.tag}".encode()).hexdigest()
        return f"sandbox://{self.name}@sha256:{digest}"


@dataclass(frozen=True)
class Launch:
    """How to start one container: the command line and the extra environment."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Behaviour:
    """What a demo app version does: the share of requests it fails and its added delay."""

    error_rate: float = 0.0
    latency: float = 0.0


# The demo app's versions, by tag: v1 and v2 are healthy, v3 fails 30 % of its requests.
# Any other tag runs a healthy app that names that tag as its version.
DEMOAPP_BEHAVIOUR: Mapping[str, Behaviour] = {
    "v1": Behaviour(),
    "v2": Behaviour(),
    "v3": Behaviour(error_rate=0.3),
}
ERROR_RATE_ENV = "DEMO_ERROR_RATE"
LATENCY_ENV = "DEMO_LATENCY"


def demoapp(image: ImageRef, *, host: str, port: int, env: Mapping[str, str]) -> Launch:
    """`python -m canary.sandbox.demoapp` as version `tag`; the container's `DEMO_ERROR_RATE`
    and `DEMO_LATENCY` override the tag's behaviour."""
    behaviour = DEMOAPP_BEHAVIOUR.get(image.tag, Behaviour())
    error_rate = float(env.get(ERROR_RATE_ENV, behaviour.error_rate))
    latency = float(env.get(LATENCY_ENV, behaviour.latency))
    argv = [sys.executable, "-m", "canary.sandbox.demoapp", "--version", image.tag]
    argv += ["--host", host, "--port", str(port)]
    argv += ["--error-rate", str(error_rate), "--latency", str(latency)]
    return Launch(argv, dict(env))


Runner = Callable[..., Launch]
"""`runner(image, *, host, port, env) -> Launch`."""

SANDBOX_IMAGES: Mapping[str, Runner] = {"demoapp": demoapp}


class UnknownImage(LookupError):
    """The image is not in the catalog: the node agent reports it as `ErrImagePull`."""


def launch(
    images: Mapping[str, Runner],
    reference: str,
    *,
    host: str,
    port: int,
    env: Mapping[str, str],
) -> Launch:
    """How to run image `reference` bound to `host:port` with the container's `env`.

    Raises `UnknownImage` for an image the catalog does not name, and `ValueError` for an
    environment it cannot use (e.g. a non-numeric `DEMO_ERROR_RATE`)."""
    image = ImageRef.parse(reference)
    runner = images.get(image.name)
    if runner is None:
        known = ", ".join(sorted(images)) or "none"
        raise UnknownImage(
            f'image "{reference}" is not in the sandbox image catalog (known: {known})'
        )
    return runner(image, host=host, port=port, env=env)
