"""The Onezone provider registry on AWS Chalice: the REST API's blueprints and the functions
beside it.

Routes live in `chalicelib/api/`, one Blueprint per area; every rule lives elsewhere in
`chalicelib`. This module registers them, answers what no route serves in Onedata's shape, and
declares the functions beside it: the GraphSync channel's WebSocket functions (on API Gateway's
WebSocket API, `wss://<zone>/graph_sync/provider` through the front, `infra/front.yaml`), its
pushes and keepalive, the bootstrap admin and the DNS reconciler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, DynamoDBEvent, Request, WebsocketEvent

from chalicelib import config, context, observability
from chalicelib.api import clusters, members, provider_tokens, providers, tokens, users, zone
from chalicelib.api.routing import ACCEPTED_CONTENT_TYPES, most_specific_first
from chalicelib.errors import OnedataError
from chalicelib.responses import error as handle_error

app = Chalice(app_name="onezone-registry", configure_logs=False)  # logs: chalicelib.observability
# Chalice still marks its WebSocket support experimental (stable in use since 1.10; opted in).
app.experimental_feature_flags.update(["WEBSOCKETS"])
observability.setup()

for area in (users, providers, provider_tokens, clusters, members, tokens, zone):
    app.register_blueprint(area.routes.blueprint)


@app.middleware("http")
def every_request(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Each request with its log keys and access line. A path no route has gets Onedata's 404:
    API Gateway answers those itself (`infra/chalice-merge.yaml`), but the function must not
    fail on one either, should it ever be invoked with it."""

    def respond(request: Request) -> Response:
        if (request.context or {}).get("resourcePath") not in app.routes:
            return handle_error(OnedataError("notFound"))
        return get_response(request)

    return observability.serve(request, respond)


def _reject_other_methods() -> None:
    """Answer methods a path does not serve with a Onedata 405, instead of a gateway default."""
    for path, views in list(app.routes.items()):
        allowed = ", ".join(sorted(views))
        others = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") if m not in views]

        def not_supported(allowed: str = allowed, **_params: str) -> Response:
            return handle_error(OnedataError("notSupported", headers={"Allow": allowed}))

        not_supported.__name__ = "not_supported_" + "".join(c if c.isalnum() else "_" for c in path)
        app.route(path, methods=others, content_types=ACCEPTED_CONTENT_TYPES)(not_supported)


_reject_other_methods()
most_specific_first(app.routes)


@app.lambda_function(name="bootstrap_admin")
def bootstrap_admin(event: dict[str, Any], _lambda_context: Any) -> dict[str, Any]:
    """Run once after deploying: create the admin user from the configured secret."""
    from chalicelib import bootstrap

    return bootstrap.run(context.current())


@app.schedule(Rate(config.reconcile_every_minutes(), unit=Rate.MINUTES), name="reconcile_dns")
def reconcile_dns(_event: CloudWatchEvent) -> dict[str, int]:
    """Make Route 53 hold exactly what the registry says (README: "DNS that heals itself").
    Invoke it by hand with a scheduled event: `infra/reconcile-event.json`."""
    from chalicelib.dns import reconciler

    return reconciler.run(context.current())


@app.on_ws_connect()
def graph_sync_connect(event: WebsocketEvent) -> None:
    """A Oneprovider opens its GraphSync channel (no credentials yet: the handshake is a message)."""
    from chalicelib.graphsync import channel

    channel.connect(context.current(), event)


@app.on_ws_message()
def graph_sync_message(event: WebsocketEvent) -> None:
    """One text message of a channel; answers go back through `@connections`."""
    from chalicelib.graphsync import channel

    channel.receive(context.current(), event)


@app.on_ws_disconnect()
def graph_sync_disconnect(event: WebsocketEvent) -> None:
    """A channel closed (API Gateway sends this at best effort)."""
    from chalicelib.graphsync import channel

    channel.disconnect(context.current(), event)


# ---- the GraphSync channel's pushes and keepalive (chalicelib/graphsync) --------------------
# Each push function reads one table's DynamoDB stream, whose ARN the stage's environment gives
# when this module is imported (`chalicelib.config.stream_arn`), as the reconciler's rate.


@app.on_dynamodb_record(stream_arn=config.stream_arn("providers"), name="provider_pushes")
def provider_pushes(event: DynamoDBEvent) -> None:
    """Changes of providers (and their deregistration) to their subscribed channels."""
    from chalicelib.graphsync import pushes

    pushes.providers_changed(context.current(), map(pushes.change_of, event))


@app.on_dynamodb_record(stream_arn=config.stream_arn("clusters"), name="cluster_pushes")
def cluster_pushes(event: DynamoDBEvent) -> None:
    from chalicelib.graphsync import pushes

    pushes.clusters_changed(context.current(), map(pushes.change_of, event))


@app.on_dynamodb_record(stream_arn=config.stream_arn("storages"), name="storage_pushes")
def storage_pushes(event: DynamoDBEvent) -> None:
    from chalicelib.graphsync import pushes

    pushes.storages_changed(context.current(), map(pushes.change_of, event))


@app.schedule(Rate(config.keepalive_every_minutes(), unit=Rate.MINUTES), name="graphsync_keepalive")
def graphsync_keepalive(_event: CloudWatchEvent) -> dict[str, int]:
    """Push every open channel its provider (at its revision, so op-worker changes nothing), so
    API Gateway's idle timeout never closes it; drop expired and gone connections."""
    from chalicelib.graphsync import keepalive

    return keepalive.run(context.current())
