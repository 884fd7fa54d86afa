"""Errors raised by the independence audit (all carry a plain-language message)."""

from __future__ import annotations

from sovereval.errors import SovereValError


class AuditError(SovereValError):
    """Base class for audit errors shown to the user as-is."""


class FormatError(AuditError):
    """A checkpoint or tokenizer file is malformed, truncated or of an unsupported kind."""


class PickleRefused(FormatError):
    """A PyTorch pickle checkpoint was given; it is refused without being unpickled."""


class CanonicalisationError(AuditError):
    """Tensor names or shapes could not be mapped to canonical roles; the audit abstains."""
