"""The sandbox node agent: the one stand-in for the kubelet, running Pods as local processes."""

from canary.sandbox.nodeagent.agent import NodeAgent
from canary.sandbox.nodeagent.images import SANDBOX_IMAGES, ImageRef, UnknownImage

__all__ = ["SANDBOX_IMAGES", "ImageRef", "NodeAgent", "UnknownImage"]
