"""A jail for model-written code: namespaces, a new read-only root, a private uid, rlimits and cgroups.

See :mod:`sovereval.bench.sandbox.core` for exactly what is and is not guaranteed.
"""

from sovereval.bench.sandbox.core import (
    Isolation,
    Limits,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    Status,
    classify,
    host_supports_isolation,
    run_python,
)

__all__ = ["Isolation", "Limits", "Sandbox", "SandboxResult", "SandboxUnavailable", "Status", "classify",
           "host_supports_isolation", "run_python"]
