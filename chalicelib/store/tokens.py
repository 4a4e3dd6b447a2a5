"""The tokens table: one item per named token, keyed by `tokenId` (the id in its identifier).

A named token's item is the authority on it: whom it speaks for, what it is, the caveats it was
issued with, how often it was used and whether it was revoked. Never the serialized token and
never key material: keys are derived from the root key (`chalicelib.tokens.keys`), and the token
can be minted again from this item. Temporary tokens have no item at all: their subject's
generation (on the user item) revokes them.
"""

from chalicelib.context import Context
from chalicelib.model_base import Model
from chalicelib.store import db
from chalicelib.tokens.codec import Identifier, Subject, TokenType


class TokenRecord(Model):
    tokenId: str
    subjectType: str  # user | oneprovider
    subjectId: str
    type: str  # the identifier's type fragment: `act`, `idn`, `rop:<adminUserId>:`...
    name: str
    caveats: list[str] = []
    createdAt: int
    usageLimit: int | None = None  # invite tokens: None is "infinity"
    usageCount: int = 0
    privileges: list[str] | None = None  # invites that carry privileges: those the joiner gets
    revoked: bool = False

    @property
    def subject(self) -> Subject:
        return Subject(self.subjectType, self.subjectId)

    @property
    def token_type(self) -> TokenType:
        return TokenType.parse(self.type)

    @property
    def identifier(self) -> Identifier:
        return Identifier(id=self.tokenId, subject=self.subject, type=self.token_type)


TABLE = db.Table("tokens_table", "tokenId", TokenRecord)
# A named token's name is unique per subject: an identifiers-table claim of this kind.
NAME_CLAIM = "tokenname"


def name_key(record: TokenRecord) -> str:
    """The name claim's key: subject ids are random 128-bit hex, so users and providers never
    collide."""
    return f"{record.subjectId}:{record.name}"


def consume_op(ctx: Context, record: TokenRecord) -> db.TransactItem:
    """Use the token once: it must exist, be unrevoked and below its usage limit at commit time.

    This condition, not the read that preceded it, is what makes a single-use token single-use
    under concurrent registrations.
    """
    condition = "attribute_exists(tokenId) AND revoked = :false"
    values = {":one": db.encode_value(1), ":false": db.encode_value(False)}
    if record.usageLimit is not None:
        condition += " AND usageCount < :limit"
        values[":limit"] = db.encode_value(record.usageLimit)
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(record.tokenId),
            "UpdateExpression": "SET usageCount = usageCount + :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
