"""Shared DynamoDB plumbing: attribute (de)serialization and transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from chalicelib.store.attributes import from_attribute, to_attribute

if TYPE_CHECKING:
    from chalicelib.context import Context

Item = dict[str, Any]
TransactItem = dict[str, Any]
Record = TypeVar("Record", bound=BaseModel)


def encode(record: Mapping[str, Any]) -> Item:
    """A plain dict as DynamoDB attribute values; `None` attributes are left out."""
    return {k: to_attribute(v) for k, v in record.items() if v is not None}


def encode_value(value: Any) -> Item:
    return to_attribute(value)


def decode(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as plain Python (numbers as int/float, sets as sorted lists)."""
    return {k: from_attribute(v) for k, v in item.items()}


def get_item(client: Any, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """A strongly consistent read: every decision taken on it is re-checked by a condition anyway,
    but clients that just wrote expect to read their own writes."""
    response = client.get_item(TableName=table, Key=encode(key), ConsistentRead=True)
    item = response.get("Item")
    return decode(item) if item else None


def conditional_write(call: Callable[..., Any], **request: Any) -> bool:
    """Run one conditional DynamoDB write; False when its condition did not hold."""
    try:
        call(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def scan(client: Any, table: str, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of `table` (matching `request`'s filter), page after page, read consistently."""
    request = {"TableName": table, "ConsistentRead": True, **request}
    while True:
        response = client.scan(**request)
        yield from (decode(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Cancelled(Exception):
    """A transaction whose conditions failed; `reasons[i]` belongs to the i-th item.

    Each reason has `Code` (e.g. `ConditionalCheckFailed`, `None`) and, where the item asked for
    `ALL_OLD`, the item as it stood, so callers can tell *which* rule was broken.
    """

    def __init__(self, reasons: Sequence[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled: " + ", ".join(str(r.get("Code")) for r in reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return self.reasons[index].get("Code") == "ConditionalCheckFailed"

    def old_item(self, index: int) -> dict[str, Any] | None:
        item = self.reasons[index].get("Item")
        return decode(item) if item else None


def transact(client: Any, items: Sequence[TransactItem], request_token: str | None = None) -> None:
    """Run `items` as one transaction; condition failures surface as `Cancelled`.

    A transaction cancelled for any other reason (a conflicting concurrent transaction,
    throttling) is re-raised as the original `ClientError`, which the error mapper answers as a
    retryable 503.
    """
    kwargs: dict[str, Any] = {"TransactItems": list(items)}
    if request_token:
        kwargs["ClientRequestToken"] = request_token
    try:
        client.transact_write_items(**kwargs)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = tuple(error.response.get("CancellationReasons") or ())
        if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            raise
        raise Cancelled(reasons) from error


# Every write of a revisioned record raises its `revision` by one; an item written before
# revisions existed counts as revision 1 (what its view showed), so its first write makes it 2.
REVISION = "revision"
FIRST_REVISION = 1
BUMP_REVISION = "#revision = if_not_exists(#revision, :revisionBase) + :revisionStep"
BUMP_NAMES = {"#revision": REVISION}
BUMP_VALUES = {":revisionBase": {"N": str(FIRST_REVISION)}, ":revisionStep": {"N": "1"}}


class Table(Generic[Record]):
    """One table holding one kind of record, keyed by a single string attribute.

    The table *name* is looked up in the settings at call time (`settings_attr`), so the same
    code serves every stage and every moto backend.

    A `revisioned` table's records carry a `revision` that every write through this class (and
    every write of its store module, through `BUMP_REVISION`) raises by one, in the same request
    as the change itself: GraphSync clients keep the copy with the highest revision, so a change
    that did not raise it would never reach them, and one that lowered it would make them retry
    for ever. Putting it here, under every REST, channel and reconciler write, means no caller
    can forget it.

    `string_sets` are attributes kept as DynamoDB string sets (grown and shrunk with `ADD` and
    `DELETE`, which need a set); an empty one is left out, as DynamoDB stores no empty set.
    """

    def __init__(
        self,
        settings_attr: str,
        key: str,
        model: type[Record],
        revisioned: bool = False,
        string_sets: tuple[str, ...] = (),
    ) -> None:
        self.settings_attr = settings_attr
        self.key = key
        self.model = model
        self.revisioned = revisioned
        self.string_sets = string_sets

    def name(self, ctx: Context) -> str:
        return str(getattr(ctx.settings, self.settings_attr))

    def get(self, ctx: Context, key_value: str) -> Record | None:
        item = get_item(ctx.aws.dynamodb, self.name(ctx), {self.key: key_value})
        return self.model.model_validate(item) if item else None

    def put_new_op(self, ctx: Context, record: Record, exclude: set[str] | None = None) -> TransactItem:
        """Insert `record` (at its first revision, if revisioned); the transaction fails if an
        item with its key exists."""
        data = record.model_dump(mode="json", exclude=exclude)
        if self.revisioned:
            data[REVISION] = FIRST_REVISION
        item = encode({name: value for name, value in data.items() if name not in self.string_sets})
        item.update({name: {"SS": list(data[name])} for name in self.string_sets if data.get(name)})
        return {
            "Put": {
                "TableName": self.name(ctx),
                "Item": item,
                "ConditionExpression": f"attribute_not_exists({self.key})",
            }
        }

    def delete_op(self, ctx: Context, key_value: str, expected: Mapping[str, Any] | None = None) -> TransactItem:
        """Delete the item; the transaction fails if it is already gone (someone else won), or
        no longer holds the `expected` values."""
        names: dict[str, str] = {}
        values: dict[str, Item] = {}
        return {
            "Delete": {
                "TableName": self.name(ctx),
                "Key": self.key_of(key_value),
                "ConditionExpression": self._condition(expected, names, values),
                **({"ExpressionAttributeNames": names} if names else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        }

    def update_op(
        self, ctx: Context, key_value: str, changes: Mapping[str, Any], expected: Mapping[str, Any] | None = None
    ) -> TransactItem:
        """Set `changes` on an existing item (`None` removes the attribute), provided its
        attributes still hold the `expected` values (optimistic concurrency); a revisioned
        record's revision goes up with them."""
        if REVISION in changes or set(changes) & set(self.string_sets):
            raise ValueError(f"{sorted(changes)}: revisions and string sets have writes of their own")
        names = {f"#a{i}": name for i, name in enumerate(changes)}
        sets = [f"{alias} = :v{i}" for i, (alias, name) in enumerate(names.items()) if changes[name] is not None]
        removes = [alias for alias, name in names.items() if changes[name] is None]
        values = {f":v{i}": encode_value(value) for i, value in enumerate(changes.values()) if value is not None}
        if self.revisioned:
            sets.append(BUMP_REVISION)
            names.update(BUMP_NAMES)
            values.update(BUMP_VALUES)
        clauses = (["SET " + ", ".join(sets)] if sets else []) + (["REMOVE " + ", ".join(removes)] if removes else [])
        expression = " ".join(clauses)
        return {
            "Update": {
                "TableName": self.name(ctx),
                "Key": self.key_of(key_value),
                "UpdateExpression": expression,
                "ConditionExpression": self._condition(expected, names, values),
                "ExpressionAttributeNames": names,
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        }

    def _condition(self, expected: Mapping[str, Any] | None, names: dict[str, str], values: dict[str, Item]) -> str:
        """The item exists and holds the `expected` values (None: the attribute is absent);
        adds the placeholders it uses to `names` and `values`."""
        condition = [f"attribute_exists({self.key})"]
        for i, (name, value) in enumerate((expected or {}).items()):
            names[f"#e{i}"] = name
            if value is None:
                condition.append(f"attribute_not_exists(#e{i})")
            elif name == REVISION and value == FIRST_REVISION:  # an item from before revisions
                condition.append(f"(attribute_not_exists(#e{i}) OR #e{i} = :e{i})")
                values[f":e{i}"] = encode_value(value)
            else:
                condition.append(f"#e{i} = :e{i}")
                values[f":e{i}"] = encode_value(value)
        return " AND ".join(condition)

    def key_of(self, key_value: str) -> Item:
        return encode({self.key: key_value})
