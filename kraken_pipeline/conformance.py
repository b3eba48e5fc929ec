"""The data contracts enforced: a table cast to its schema where lossless, refused otherwise.

Every table is conformed before it is stored, so a column of the wrong type, a null where the
contract forbids one or a value that would be rounded is named in an error, never written.
"""

from __future__ import annotations

import pyarrow as pa


class InvalidTableError(ValueError):
    """A table does not fit its data contract; the message names the column and the fix."""


def _kind(data_type: pa.DataType) -> str:
    """The family of a type; casts are only tried within a family, so none can lose meaning."""
    if pa.types.is_dictionary(data_type):
        return _kind(data_type.value_type)
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "text"
    if pa.types.is_timestamp(data_type):
        # A naive timestamp does not say which instant it is: relabelling it UTC would guess.
        return "instant" if data_type.tz else "naive timestamp"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_decimal(data_type) or pa.types.is_integer(data_type):
        return "exact number"  # floats are excluded on purpose: values are never rounded
    if pa.types.is_boolean(data_type):
        return "boolean"
    return "null" if pa.types.is_null(data_type) else str(data_type)


def _conform_column(column: pa.ChunkedArray, field: pa.Field, what: str) -> pa.ChunkedArray:
    if _kind(column.type) not in {_kind(field.type), "null"}:
        raise InvalidTableError(
            f"{what} column {field.name!r} is {column.type}; it must be {field.type}"
        )
    try:
        conformed = column.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidTableError(
            f"{what} column {field.name!r} cannot become {field.type} without loss: {exc}"
        ) from None
    if not field.nullable and conformed.null_count:
        raise InvalidTableError(f"{what} column {field.name!r} has {conformed.null_count} null(s)")
    return conformed


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """The table cast to the schema where that is lossless; InvalidTableError otherwise."""
    names = set(table.column_names)
    missing = [name for name in schema.names if name not in names]
    unknown = sorted(names - set(schema.names))
    if missing or unknown:
        raise InvalidTableError(
            f"{what} table: missing column(s) {missing}, unknown column(s) {unknown}; "
            f"the columns are {schema.names}"
        )
    columns = [_conform_column(table[field.name], field, what) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)
