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


KeyValue = str | tuple[str, str]  # a partition key, or (partition key, sort key)

# Every write of a revisioned record raises its `revision` by one; an item written before
# revisions existed counts as revision 1 (what its view showed), so its first write makes it 2.
REVISION = "revision"
FIRST_REVISION = 1
BUMP_REVISION = "#revision = if_not_exists(#revision, :revisionBase) + :revisionStep"
BUMP_NAMES = {"#revision": REVISION}
BUMP_VALUES = {":revisionBase": {"N": str(FIRST_REVISION)}, ":revisionStep": {"N": "1"}}


class Table(Generic[Record]):
    """One table holding one kind of record, keyed by a string attribute (`key`) and, in a table
    that has one, a string sort key (`sort_key`): a key value is then the pair of both.

    `string_sets` names the record's list fields that are stored as DynamoDB string sets, so that
    transactions can add and remove one member (`set_member_op`) without reading the item; an
    empty set is left out of the item (DynamoDB has no empty set).

    The table *name* is looked up in the settings at call time (`settings_attr`), so the same
    code serves every stage and every moto backend.

    A `revisioned` table's records carry a `revision` that every write through this class (and
    every write of its store module, through `BUMP_REVISION`) raises by one, in the same request
    as the change itself: GraphSync clients keep the copy with the highest revision, so a change
    that did not raise it would never reach them, and one that lowered it would make them retry
    for ever. Putting it here, under every REST, channel and reconciler write, means no caller
    can forget it.
    """

    def __init__(
        self,
        settings_attr: str,
        key: str,
        model: type[Record],
        sort_key: str | None = None,
        revisioned: bool = False,
        string_sets: frozenset[str] = frozenset(),
    ) -> None:
        self.settings_attr = settings_attr
        self.key = key
        self.sort_key = sort_key
        self.model = model
        self.revisioned = revisioned
        self.string_sets = string_sets

    def name(self, ctx: Context) -> str:
        return str(getattr(ctx.settings, self.settings_attr))

    def get(self, ctx: Context, key_value: KeyValue) -> Record | None:
        item = get_item(ctx.aws.dynamodb, self.name(ctx), self.key_attributes(key_value))
        return self.model.model_validate(item) if item else None

    def item(self, record: Record, exclude: set[str] | None = None) -> Item:
        """`record` as a new DynamoDB item: its `string_sets` as string sets, a revisioned
        record at its first revision."""
        data = record.model_dump(mode="json", exclude=exclude)
        if self.revisioned:
            data[REVISION] = FIRST_REVISION
        item = encode({name: value for name, value in data.items() if name not in self.string_sets})
        for name in self.string_sets:
            if data.get(name):
                item[name] = {"SS": sorted(set(data[name]))}
        return item

    def put_new_op(self, ctx: Context, record: Record, exclude: set[str] | None = None) -> TransactItem:
        """Insert `record` (at its first revision, if revisioned); the transaction fails if an
        item with its key exists."""
        return {
            "Put": {
                "TableName": self.name(ctx),
                "Item": self.item(record, exclude),
                "ConditionExpression": f"attribute_not_exists({self.key})",
            }
        }

    def delete_op(
        self, ctx: Context, key_value: KeyValue, expected: Mapping[str, Any] | None = None, must_exist: bool = True
    ) -> TransactItem:
        """Delete the item; the transaction fails if it is already gone (someone else won), or
        no longer holds the `expected` values. Without `must_exist` (and `expected`), deleting
        an item that is gone is no failure: clean-ups that may run twice."""
        names: dict[str, str] = {}
        values: dict[str, Item] = {}
        condition = self._condition(expected, names, values) if must_exist or expected else None
        return {
            "Delete": {
                "TableName": self.name(ctx),
                "Key": self.key_of(key_value),
                **({"ConditionExpression": condition} if condition else {}),
                **({"ExpressionAttributeNames": names} if names else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        }

    def update_op(
        self,
        ctx: Context,
        key_value: KeyValue,
        changes: Mapping[str, Any],
        expected: Mapping[str, Any] | None = None,
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

    def check_op(self, ctx: Context, key_value: KeyValue, expected: Mapping[str, Any] | None = None) -> TransactItem:
        """A transaction condition: the item exists (and holds the `expected` values) at commit."""
        names: dict[str, str] = {}
        values: dict[str, Item] = {}
        condition = self._condition(expected, names, values)
        return {
            "ConditionCheck": {
                "TableName": self.name(ctx),
                "Key": self.key_of(key_value),
                "ConditionExpression": condition,
                **({"ExpressionAttributeNames": names} if names else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def set_member_op(self, ctx: Context, key_value: KeyValue, attribute: str, member: str, add: bool) -> TransactItem:
        """Add `member` to, or remove it from, one of the item's `string_sets`; the item must
        exist (an update would otherwise create a stub item). Adding a member it has, or
        removing one it lacks, changes nothing and fails nothing."""
        if attribute not in self.string_sets:
            raise ValueError(f"{attribute} is not a string set of {self.settings_attr}")
        expression = f"{'ADD' if add else 'DELETE'} #set :member"
        names, values = {"#set": attribute}, {":member": {"SS": [member]}}
        if self.revisioned:
            expression = f"SET {BUMP_REVISION} {expression}"
            names.update(BUMP_NAMES)
            values.update(BUMP_VALUES)
        return {
            "Update": {
                "TableName": self.name(ctx),
                "Key": self.key_of(key_value),
                "UpdateExpression": expression,
                "ConditionExpression": f"attribute_exists({self.key})",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def increment(self, ctx: Context, key_value: KeyValue, attribute: str) -> bool:
        """Add one to a counter of an existing item (one never written counts as 1, its
        records' default); False if the item is gone."""
        return conditional_write(
            ctx.aws.dynamodb.update_item,
            TableName=self.name(ctx),
            Key=self.key_of(key_value),
            UpdateExpression="SET #counter = if_not_exists(#counter, :one) + :one",
            ConditionExpression=f"attribute_exists({self.key})",
            ExpressionAttributeNames={"#counter": attribute},
            ExpressionAttributeValues={":one": encode_value(1)},
        )

    def query(self, ctx: Context, partition: str) -> Iterator[Record]:
        """Every item of one partition key, in sort key order, page after page, read
        consistently: one Query per page, never a scan."""
        request: dict[str, Any] = {
            "TableName": self.name(ctx),
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": self.key},
            "ExpressionAttributeValues": {":key": encode_value(partition)},
            "ConsistentRead": True,
        }
        while True:
            response = ctx.aws.dynamodb.query(**request)
            yield from (self.model.model_validate(decode(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def page(self, ctx: Context, limit: int, start_after: str | None) -> tuple[list[str], str | None]:
        """Up to `limit` keys after `start_after`, and the key to continue from (if any).

        A Scan with `Limit` reads at most `limit` items per call, so a page costs what it returns,
        never the whole table; the continuation is DynamoDB's own `LastEvaluatedKey`.
        """
        request: dict[str, Any] = {
            "TableName": self.name(ctx),
            "Limit": limit,
            "ProjectionExpression": "#key",
            "ExpressionAttributeNames": {"#key": self.key},
        }
        if start_after:
            request["ExclusiveStartKey"] = self.key_of(start_after)
        response = ctx.aws.dynamodb.scan(**request)
        keys = [decode(item)[self.key] for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return keys, decode(last)[self.key] if last else None

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

    def key_attributes(self, key_value: KeyValue) -> dict[str, str]:
        """The key's attributes: `{key: value}`, or `{key: partition, sort_key: sort}`."""
        if self.sort_key is None:
            if not isinstance(key_value, str):
                raise TypeError(f"{self.settings_attr} is keyed by {self.key} alone")
            return {self.key: key_value}
        if isinstance(key_value, str):
            raise TypeError(f"{self.settings_attr} is keyed by ({self.key}, {self.sort_key})")
        partition, sort = key_value
        return {self.key: partition, self.sort_key: sort}

    def key_of(self, key_value: KeyValue) -> Item:
        return encode(self.key_attributes(key_value))
