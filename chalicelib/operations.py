"""What each route is, beside its code: the route table's entries, for the OpenAPI document
(`chalicelib.openapi`) and for `api` caveats (`chalicelib.tokens.gri`). Kept free of pydantic and
of the models, so building the route table costs a cold start nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    # The request and response bodies' models, by name in `chalicelib.models`: the route table
    # is built at import, the models are imported when a request or the document needs them.
    request: str | None = None
    response: str | None = None
    status: int = 200
    public: bool = False
    deprecated: bool = False
    # Responses that are no pydantic model: (media type, JSON schema), e.g. Nagios' XML.
    raw_response: tuple[str, dict[str, Any]] | None = None
    # What the operation is to `api` caveats (`chalicelib.tokens.gri.ApiOperation` specs).
    api: tuple[str, ...] = ()
    # Error statuses beyond the ones every operation may answer (409 `relationAlreadyExists`).
    more_errors: tuple[int, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def errors(self) -> list[int]:
        codes = [400, 404, 405, 500, 503, *self.more_errors]
        if not self.public:
            codes += [401, 403]
        return sorted(codes)
