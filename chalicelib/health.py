"""`GET /nagios`: Onedata's health report, which Onepanel checks before it registers.

Onepanel needs HTTP 200 and a `healthdata` root whose `status` is `ok`; it retries five times and
otherwise never attempts registration. The registry is healthy when DynamoDB answers for every
table (a strongly consistent read of a key no item has). Route 53 is not probed: its API allows
five requests per second per account, which a monitoring loop must not spend. As in Onezone, an
unhealthy registry still answers 200, with `status="error"` and the failing part marked.
"""

from __future__ import annotations

import logging
import time
from xml.etree import ElementTree

from chalicelib.context import Context
from chalicelib.store import clusters, connections, db, identifiers, memberships, providers, storages, tokens, users

log = logging.getLogger(__name__)

PROBE_ID = "nagios-probe"


def _probes(ctx: Context) -> dict[str, dict[str, str]]:
    """Each table's name and the key the probe reads."""
    tables = (users.TABLE, tokens.TABLE, providers.TABLE, clusters.TABLE, connections.TABLE, storages.TABLE)
    probes = {table.name(ctx): table.key_attributes(PROBE_ID) for table in tables}
    probes[memberships.TABLE.name(ctx)] = memberships.TABLE.key_attributes((PROBE_ID, PROBE_ID))
    probes[ctx.settings.identifiers_table] = {identifiers.KEY: PROBE_ID}
    return probes


def _status(ctx: Context, table: str, key: dict[str, str]) -> str:
    try:
        db.get_item(ctx.aws.dynamodb, table, key)
    except Exception:
        log.warning("health check: DynamoDB table %s does not answer", table, exc_info=True)
        return "error"
    return "ok"


def report(ctx: Context) -> str:
    """The `healthdata` XML document."""
    statuses = {table: _status(ctx, table, key) for table, key in _probes(ctx).items()}
    overall = "ok" if all(status == "ok" for status in statuses.values()) else "error"
    root = ElementTree.Element("healthdata", date=time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime()), status=overall)
    worker = ElementTree.SubElement(root, "oz_worker", name="onezone-registry", status=overall)
    for table, status in statuses.items():
        ElementTree.SubElement(worker, "dynamodb", table=table, status=status)
    return '<?xml version="1.0"?>' + ElementTree.tostring(root, encoding="unicode")
