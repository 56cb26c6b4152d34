"""The stack's ComponentResources, one per concern: identity, compute, network, storage."""

from stacks.components.compute import Compute
from stacks.components.identity import Identity, department_tag
from stacks.components.network import Network
from stacks.components.storage import Storage

__all__ = ["Compute", "Identity", "Network", "Storage", "department_tag"]
