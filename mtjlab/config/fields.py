"""Field types shared by every config model: numbers that refuse booleans, errors located at a field."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from pydantic import BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

_NO_VALUE = object()


def fail(path: tuple[str | int, ...], reason: str, value: Any = _NO_VALUE) -> NoReturn:
    """Raise a validation error at ``path``, relative to the model (or field) being validated.

    ``value`` is shown as ``(got <value>)`` in the final message when given.
    """
    ctx: dict[str, Any] = {"mtjlab_path": tuple(path), "reason": reason}
    if value is not _NO_VALUE:
        ctx["got"] = value
    raise PydanticCustomError("mtjlab", "{reason}", ctx)


def _not_bool(value: Any) -> Any:
    """YAML ``true``/``false`` must not pass as the numbers 1 and 0."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "must be a number, not true/false")
    return value


def _float_in_range(value: Any) -> Any:
    """Refuse booleans, and integers beyond a float's range (``10**400``) as not finite."""
    value = _not_bool(value)
    if isinstance(value, int) and value.bit_length() > 1023:
        raise PydanticCustomError("finite_number", "must be a finite number")
    return value


Float = Annotated[float, BeforeValidator(_float_in_range)]
"""A float that rejects booleans (strings like ``1e-4`` from YAML are accepted)."""
Int = Annotated[int, BeforeValidator(_not_bool)]
"""An int that rejects booleans."""

SEED_MAX = 2**32 - 1
"""Largest seed: numpy's legacy generators and scikit-learn take seeds in 0..2**32 - 1."""

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)
"""Model config shared by every config model."""
