"""Types whose validation is exactly what their JSON Schema says, for the models that strict
validation alone would get wrong (the api's bodies and the task contract's arguments)."""

from __future__ import annotations

from pydantic import BeforeValidator


def json_integer(value: object) -> object:
    """An integer as JSON Schema has it: 2.0 is one, `true` and "2" are not. For a strict model,
    which alone would refuse 2.0 as well."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After the bounds (`Annotated[int, Field(ge=...), JSON_INTEGER]`): before them, pydantic cannot
# carry the bounds into the JSON Schema as minimum/maximum.
JSON_INTEGER = BeforeValidator(json_integer)
