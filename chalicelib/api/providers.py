"""Providers' routes: registration, the provider's own record, its domain and TXT records, the
public helpers Onepanel calls, and admins' views."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import Routes
from chalicelib.responses import ok

routes = Routes(__name__)


@routes(
    "/providers",
    "POST",
    "registerProvider",
    "Register a Oneprovider.",
    request="RegisterProviderRequest",
    response="RegisterProviderResponse",
    public=True,
)
def register_provider() -> Response:
    from chalicelib.providers import registration

    return ok(registration.register(context.current(), routes.request.raw_body, routes.source_ip()))


@routes(
    "/provider",
    "GET",
    "getCurrentProvider",
    "The calling provider's details.",
    response="ProviderDetails",
    api=("get provider.{client}.instance:protected",),
)
def get_current_provider() -> Response:
    from chalicelib.providers import details

    return ok(details.describe(routes.provider()))


@routes(
    "/provider",
    "PATCH",
    "updateCurrentProvider",
    "Modify the calling provider's details.",
    request="UpdateProviderRequest",
    status=204,
    api=("update provider.{client}.instance:private",),
)
def update_current_provider() -> Response:
    from chalicelib.models import UpdateProviderRequest
    from chalicelib.providers import details
    from chalicelib.validation import parse

    provider = routes.provider()
    details.update(context.current(), provider, parse(UpdateProviderRequest, routes.request.raw_body))
    return ok(None, status=204)


@routes(
    "/provider",
    "DELETE",
    "unregisterProvider",
    "Deregister the calling provider.",
    status=204,
    api=("delete provider.{client}.instance:private",),
)
def unregister_provider() -> Response:
    from chalicelib.providers import deregistration

    deregistration.deregister(context.current(), routes.provider())
    return ok(None, status=204)


@routes(
    "/provider/domain_config",
    "GET",
    "getProviderDomainConfig",
    "The calling provider's domain configuration.",
    response="DomainConfig",
    api=("get provider.{client}.domain_config:private",),
)
def get_provider_domain_config() -> Response:
    from chalicelib.providers import domain_config

    return ok(domain_config.describe(routes.provider()))


@routes(
    "/provider/domain_config",
    "PATCH",
    "updateProviderDomainConfig",
    "Switch subdomain delegation, the subdomain or the worker IPs.",
    request="UpdateDomainConfigRequest",
    status=204,
    api=("update provider.{client}.domain_config:private",),
)
def update_provider_domain_config() -> Response:
    from chalicelib.providers import domain_config

    provider = routes.provider()
    domain_config.update(context.current(), provider, routes.request.raw_body)
    return ok(None, status=204)


@routes(
    "/provider/dns_txt_record/{record_name}",
    "PUT",
    "setProviderDnsTxtRecord",
    "Create or replace a TXT record <record_name>.<subdomain> (ACME DNS-01); needs subdomain delegation.",
    request="SetDnsTxtRecordRequest",
    status=204,
    api=("create provider.{client}.dns_txt_record,{record_name}:private",),
)
def set_provider_dns_txt_record(record_name: str) -> Response:
    from chalicelib.providers import txt_records

    provider = routes.provider()
    txt_records.put(context.current(), provider, record_name, routes.request.raw_body)
    return ok(None, status=204)


@routes(
    "/provider/dns_txt_record/{record_name}",
    "DELETE",
    "removeProviderDnsTxtRecord",
    "Remove a TXT record <record_name>.<subdomain>.",
    status=204,
    api=("delete provider.{client}.dns_txt_record,{record_name}:private",),
)
def remove_provider_dns_txt_record(record_name: str) -> Response:
    from chalicelib.providers import txt_records

    txt_records.remove(context.current(), routes.provider(), record_name)
    return ok(None, status=204)


@routes(
    "/provider/public/get_current_time",
    "GET",
    "getCurrentTime",
    "This zone's clock, in milliseconds (Onepanel syncs with it).",
    response="CurrentTime",
    public=True,
)
def get_current_time() -> Response:
    from chalicelib import zone

    return ok(zone.current_time())


@routes(
    "/provider/public/check_my_ip",
    "GET",
    "checkMyIp",
    "The caller's IP address, as this zone sees it.",
    raw_response=("application/json", {"type": "string"}),
    public=True,
)
def check_my_ip() -> Response:
    return ok(routes.source_ip() or "")


@routes(
    "/providers",
    "GET",
    "listProviders",
    "List providers (oz_providers_list).",
    response="ProviderList",
    api=("get provider.null.list:private",),
)
def list_providers() -> Response:
    from chalicelib.providers import details

    query = routes.request.query_params or {}
    caller = routes.caller()
    return ok(details.list_page(context.current(), caller, query.get("limit"), query.get("page_token")))


@routes(
    "/providers/{provider_id}",
    "GET",
    "getProvider",
    "Get a provider's details.",
    response="ProviderDetails",
    api=("get provider.{provider_id}.instance:protected",),
)
def get_provider(provider_id: str) -> Response:
    from chalicelib.providers import details

    return ok(details.get(context.current(), routes.anyone(), provider_id))


@routes(
    "/providers/{provider_id}",
    "DELETE",
    "removeProvider",
    "Deregister a provider (oz_providers_delete).",
    status=204,
    api=("delete provider.{provider_id}.instance:private",),
)
def remove_provider(provider_id: str) -> Response:
    from chalicelib.providers import deregistration

    deregistration.deregister_by_admin(context.current(), routes.caller(), provider_id)
    return ok(None, status=204)
