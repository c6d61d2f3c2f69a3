"""Request routing for the simulator: the ServiceTrade API under /api, PartsLedger's under
/partsledger/api (see partsledger.py), and the control API /_sim.

HTTP-framework free: `SimulatorApi.handle` maps a `Request` to a `Response`; server.py does the
sockets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import unquote

from simulator.delivery import KnobError
from simulator.exchange import (
    HttpError,
    Request,
    Response,
    form_body,
    json_body,
    json_response,
)
from simulator.model import (
    BILL_STATUSES,
    ENTITY_TYPES,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    ITEM_TYPES,
    JOB_STATUSES,
    LIST_KEYS,
    PAGE_LIMITS,
    PL_RESOURCES,
    PO_STATUSES,
    RESOURCE_PATHS,
    Invoice,
    InvoiceItem,
    Job,
    Record,
    World,
)
from simulator.partsledger import BASE_PATH as PL_BASE_PATH
from simulator.partsledger import PartsLedgerApi, PlRenderer
from simulator.partsledger import summary as pl_summary
from simulator.raw import ID_KEYS, MARK, PL_ID_KEYS, splice
from simulator.render import Renderer
from simulator.scenario import (
    CORRUPTIBLE_KINDS,
    DELETABLE_KINDS,
    PL_CORRUPTIBLE_KINDS,
    DeleteRefused,
    add_comment,
    corrupt,
    delete_record,
    entity_type_of,
)
from simulator.state import FAULT_KINDS, SYSTEMS, Fault, SimConfig, SimState
from simulator.webhooks import (
    WebhookRequestError,
    new_webhook,
    render_webhook,
    update_webhook,
)

#: Invoice status changes the API accepts on PUT (what an accounting integration may do).
INVOICE_TRANSITIONS = {
    "pending_accounting": frozenset({"processed", "failed"}),
    "failed": frozenset({"pending_accounting"}),
}
READABLE_KINDS = ("company", "location", "user", "job", "invoice", "comment", "jobitem",
                  "clockevent")  # fmt: skip
#: Kinds by their URL path under /api (clock events live at /clock).
KIND_OF_PATH = {RESOURCE_PATHS.get(kind, kind): kind for kind in READABLE_KINDS}
#: Kinds the control API can change directly: ServiceTrade's and PartsLedger's.
MUTABLE_KINDS = (*READABLE_KINDS, *PL_RESOURCES)
#: Kinds raw record text can be injected into (the ones recon records).
RAW_KINDS = tuple(kind for kind in MUTABLE_KINDS if kind != "comment")
_JSON_HEADERS = [("Content-Type", "application/json")]
#: The most `/_sim/advance` moves the clock in one call.
MAX_ADVANCE_DAYS = 366
MAX_ADVANCE_MINUTES = MAX_ADVANCE_DAYS * 1440


_json = json_response


def envelope(data: Any, *, success: str | None = None) -> dict[str, Any]:
    messages: dict[str, list[str]] = {}
    if success:
        messages["success"] = [success]
    return {"data": data, "messages": messages}


def error_response(
    status: int, messages: list[str], headers: list[tuple[str, str]] | None = None
) -> Response:
    return _json(status, {"data": None, "messages": {"error": messages}}, headers)


class SimulatorApi:
    """The simulator's behaviour; one instance per running server."""

    def __init__(self, state: SimState, default_host: str) -> None:
        self.state = state
        self.default_host = default_host
        self.partsledger = PartsLedgerApi(state)

    # --- entry point ----------------------------------------------------------------------

    #: When set (a simulator reachable from other machines), the control API answers only
    #: requests carrying it: ``Authorization: Bearer <token>`` or ``X-Sim-Control-Token``.
    control_token: str | None = None

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        try:
            if path.startswith("/_sim/"):
                if self.control_token is not None:
                    import hmac

                    bearer = request.headers.get("authorization", "")
                    given = request.headers.get("x-sim-control-token") or (
                        bearer[len("bearer ") :] if bearer.lower().startswith("bearer ") else ""
                    )
                    if not hmac.compare_digest(given.strip().encode(), self.control_token.encode()):
                        raise HttpError(
                            401,
                            "the control API needs the simulator's control token: "
                            "Authorization: Bearer <token> or X-Sim-Control-Token: <token>",
                            headers=[("WWW-Authenticate", 'Bearer realm="simulator control"')],
                        )
                return self._control(request, path[len("/_sim/") :])
            if path == "/api" or path.startswith("/api/"):
                return self._api(request, path[len("/api/") :])
            if path == PL_BASE_PATH or path.startswith(PL_BASE_PATH + "/"):
                return self.partsledger.handle(request, path[len(PL_BASE_PATH) + 1 :])
            raise HttpError(
                404,
                f"no such path {request.path!r}; the APIs live under /api and {PL_BASE_PATH}",
            )
        except HttpError as exc:
            return error_response(exc.status, exc.messages, exc.headers)

    def _renderer(self, request: Request) -> Renderer:
        return Renderer(self.state.world, self._base_uri(request))

    def _base_uri(self, request: Request) -> str:
        host = request.headers.get("host") or self.default_host
        return f"http://{host}/api"

    # --- /api -----------------------------------------------------------------------------

    def _api(self, request: Request, path: str) -> Response:
        delay = 0.0
        fault = self.state.take_fault("servicetrade")
        if fault is not None:
            if fault.kind == "rate_limit":
                raise HttpError(
                    429,
                    f"Rate limit exceeded; retry after {fault.retry_after} s",
                    headers=[("Retry-After", fault.retry_after)],
                )
            if fault.kind == "server_error":
                raise HttpError(fault.status, "Service temporarily unavailable")
            if fault.kind == "drop":
                return Response(0, drop=True)
            delay = fault.seconds
        try:
            response = self._route(request, path)
        except HttpError as exc:
            response = error_response(exc.status, exc.messages, exc.headers)
        response.delay = delay
        return response

    def _route(self, request: Request, path: str) -> Response:
        method = request.method
        parts = path.split("/") if path else []
        if parts == ["auth"]:
            return self._auth(request)
        if parts == ["oauth2", "token"] and method == "POST":
            return self._token(request)
        if parts == ["oauth2", "revoke"] and method == "POST":
            form = form_body(request)
            self.state.revoke(form.get("token", ""))
            return _json(200, envelope(None))
        self._require_auth(request)
        if parts and parts[0] == "webhook" and len(parts) <= 2:
            return self._webhook(request, parts[1:])
        if not parts or parts[0] not in KIND_OF_PATH or len(parts) > 2:
            raise HttpError(404, f"no such resource {'/'.join(parts)!r}")
        kind = KIND_OF_PATH[parts[0]]
        if len(parts) == 1:
            if method == "GET":
                return self._list(request, kind)
            if method == "POST" and kind == "comment":
                return self._post_comment(request)
            raise HttpError(405, f"{method} is not supported on /{kind}")
        if method == "GET":
            with self.state.lock:
                raw = self.state.raw.find(kind, unquote(parts[1]))
            if raw is not None:
                body = envelope(MARK)
                return Response(200, splice(_json(200, body).body, [raw]), _JSON_HEADERS)
        record_id = self._id(parts[1])
        if method == "GET":
            with self.state.lock:
                record = self._find(kind, record_id, served=True)
                return _json(200, envelope(self._renderer(request).render(kind, record)))
        if method == "PUT" and kind == "invoice":
            return self._put_invoice(request, record_id)
        raise HttpError(405, f"{method} is not supported on /{kind}/{{id}}")

    def _require_auth(self, request: Request) -> None:
        try:
            self._check_auth(request)
        except HttpError:
            self.state.count("unauthorized")
            raise

    def _check_auth(self, request: Request) -> None:
        authorization = request.headers.get("authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HttpError(401, "Unsupported Authorization header; expected 'Bearer <token>'")
            if not self.state.bearer_ok(token.strip()):
                raise HttpError(401, "Access token is expired or invalid")
            return
        session = self._session_token(request)
        if session is None:
            raise HttpError(401, "Not authenticated: send a Bearer token or a PHPSESSID cookie")
        if self.state.session_user(session) is None:
            raise HttpError(401, "Session expired or invalid; log in again")

    @staticmethod
    def _session_token(request: Request) -> str | None:
        raw = request.headers.get("cookie")
        if not raw:
            return None
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(raw)
        except CookieError:
            return None
        morsel = cookie.get("PHPSESSID")
        return None if morsel is None else str(morsel.value)

    def _auth(self, request: Request) -> Response:
        if request.method == "POST":
            body = json_body(request)
            username, password = body.get("username"), body.get("password")
            if not isinstance(username, str) or not isinstance(password, str):
                raise HttpError(400, "username and password are required strings")
            token = self.state.login(username, password)
            if token is None:
                self.state.count("login_refused")
                raise HttpError(403, "Invalid username or password")
            self.state.count("logins")
            data = {"authenticated": True, "authToken": token, "user": self._auth_user(request)}
            cookie = f"PHPSESSID={token}; Path=/; HttpOnly"
            return _json(200, envelope(data), [("Set-Cookie", cookie)])
        if request.method == "GET":
            self._require_auth(request)
            token = self._session_token(request)
            data = {"authenticated": True, "authToken": token, "user": self._auth_user(request)}
            return _json(200, envelope(data))
        if request.method == "DELETE":
            token = self._session_token(request)
            if token is None or not self.state.logout(token):
                raise HttpError(401, "Not authenticated")
            return _json(200, envelope(None, success="Logged out"))
        raise HttpError(405, f"{request.method} is not supported on /auth")

    def _auth_user(self, request: Request) -> dict[str, Any]:
        with self.state.lock:
            world = self.state.world
            renderer = self._renderer(request)
            user = world.users[world.api_user_id]
            return {
                **renderer.user_stub(user.id),
                "email": user.email,
                "company": renderer.company_stub(user.company_id),
            }

    def _token(self, request: Request) -> Response:
        form = form_body(request)
        grant = form.get("grant_type", "")
        self.state.count(f"grant:{grant}")
        if grant == "client_credentials":
            if not self.state.client_ok(form.get("client_id", ""), form.get("client_secret", "")):
                self.state.count("grant_refused")
                return _json(
                    401,
                    {
                        "error": "invalid_grant",
                        "error_description": "unknown client or wrong secret",
                    },
                )
            return _json(200, self.state.issue_tokens(form["client_id"]))
        if grant == "refresh_token":
            owner = self.state.use_refresh_token(
                form.get("refresh_token", ""), form.get("client_id") or None
            )
            if owner is None:
                self.state.count("grant_refused")
                return _json(
                    401,
                    {
                        "error": "invalid_grant",
                        "error_description": "refresh token is invalid or expired",
                    },
                )
            return _json(200, self.state.issue_tokens(owner))
        return _json(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "use client_credentials or refresh_token",
            },
        )

    @staticmethod
    def _id(text: str) -> int:
        if not _digits(text):
            raise HttpError(404, f"no record with id {text!r}")
        return int(text)

    def _find(self, kind: str, record_id: int, *, served: bool = False) -> Any:
        """The record (404 when there is none). `served`: as the API serves it, so not before
        the moment it was created (the control API sees every record)."""
        record = self.state.world.table(kind).get(record_id)
        if record is None or (served and not _exists(self.state.world, record)):
            raise HttpError(404, f"{kind} {record_id} not found")
        return record

    # --- lists ----------------------------------------------------------------------------

    def _list(self, request: Request, kind: str) -> Response:
        query = request.query
        default_limit, max_limit = PAGE_LIMITS[kind]
        page = _positive_int(query, "page", 1)
        limit = min(_positive_int(query, "limit", default_limit), max_limit)
        bounds = {
            name: _timestamp(query, name)
            for name in ("createdAfter", "createdBefore", "updatedAfter", "updatedBefore")
        }
        with self.state.lock:
            world = self.state.world
            records: list[Any] = [
                record
                for record in world.table(kind).values()
                if _exists(world, record)
                and _in_window(record, bounds)
                and _matches(world, kind, record, query)
            ]
            records.sort(key=lambda record: (record.updated, record.id))
            total_pages = math.ceil(len(records) / limit)
            chunk = records[(page - 1) * limit : page * limit]
            renderer = self._renderer(request)
            rendered: list[Any] = [renderer.render(kind, record) for record in chunk]
            data = {LIST_KEYS[kind]: rendered, "totalPages": total_pages}
            raw = self.state.raw.of(kind) if page == 1 else []
        if raw:  # injected records: on the first page, whatever the query
            rendered.append(MARK)
            data["totalPages"] = max(total_pages, 1)
            return Response(200, splice(_json(200, envelope(data)).body, raw), _JSON_HEADERS)
        return _json(200, envelope(data))

    # --- writes ---------------------------------------------------------------------------

    def _put_invoice(self, request: Request, invoice_id: int) -> Response:
        body = json_body(request)
        unknown = sorted(set(body) - {"status", "name", "invoiceNumber"})
        if unknown:
            raise HttpError(400, f"fields {unknown} cannot be changed through this API")
        if not body:
            raise HttpError(400, "nothing to change: send status, name or invoiceNumber")
        with self.state.lock:
            invoice: Invoice = self._find("invoice", invoice_id, served=True)
            if "status" in body:
                status = body["status"]
                allowed = INVOICE_TRANSITIONS.get(invoice.status, frozenset())
                if status not in INVOICE_STATUSES:
                    raise HttpError(
                        400, f"status must be one of {list(INVOICE_STATUSES)}, got {status!r}"
                    )
                if status not in allowed:
                    raise HttpError(
                        400, f"Invoice status cannot change from {invoice.status!r} to {status!r}"
                    )
            for name in ("name", "invoiceNumber"):
                if name in body and not isinstance(body[name], str):
                    raise HttpError(400, f"{name} must be a string, got {body[name]!r}")
            if "status" in body:
                invoice.status = body["status"]
            if "name" in body:
                invoice.name = body["name"]
            if "invoiceNumber" in body:
                invoice.invoice_number = body["invoiceNumber"]
            invoice.updated = self.state.world.tick()
            self.state.observe(actor=self.state.world.api_user_id)
            data = self._renderer(request).render("invoice", invoice)
        return _json(200, envelope(data, success="Invoice updated"))

    def _post_comment(self, request: Request) -> Response:
        body = json_body(request)
        entity_type = entity_type_of(body.get("entityType"))
        if entity_type is None:
            raise HttpError(
                400, f"entityType must be one of {ENTITY_TYPES}, got {body.get('entityType')!r}"
            )
        entity_id = body.get("entityId")
        if isinstance(entity_id, str) and _digits(entity_id):
            entity_id = int(entity_id)
        if not isinstance(entity_id, int) or isinstance(entity_id, bool):
            raise HttpError(400, f"entityId must be an integer id, got {entity_id!r}")
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise HttpError(400, "content is required")
        kind = next(name for name, number in ENTITY_TYPES.items() if number == entity_type)
        with self.state.lock:
            world = self.state.world
            self._find(kind, entity_id, served=True)
            comment = add_comment(
                world, entity_type, entity_id, content, world.api_user_id, world.tick()
            )
            data = self._renderer(request).render("comment", comment)
        return _json(200, envelope(data, success="Comment created"))

    # --- /api/webhook (reference §7.1) ----------------------------------------------------

    def _webhook(self, request: Request, rest: list[str]) -> Response:
        method = request.method
        base = self._base_uri(request)
        if not rest:
            if method == "GET":
                with self.state.lock:
                    hooks = [
                        render_webhook(hook, base) for hook in self.state.world.webhooks.values()
                    ]
                return _json(200, envelope({"webhooks": hooks, "totalPages": 1 if hooks else 0}))
            if method == "POST":
                body = json_body(request)
                with self.state.lock:
                    world = self.state.world
                    try:
                        webhook = new_webhook(0, body)
                    except WebhookRequestError as exc:
                        raise HttpError(400, str(exc)) from exc
                    self.state.observe()  # what changed before it is not its business
                    webhook.id = world.new_webhook_id()
                    world.webhooks[webhook.id] = webhook
                    data = render_webhook(webhook, base)
                    # As on ServiceTrade, `confirmed` turns true at once, reachable or not.
                    webhook.confirmed = True
                return _json(200, envelope(data, success="Webhook created"))
            raise HttpError(405, f"{method} is not supported on /webhook")
        webhook_id = self._id(rest[0])
        with self.state.lock:
            world = self.state.world
            found = world.webhooks.get(webhook_id)
            if found is None:
                raise HttpError(404, f"webhook {webhook_id} not found")
            webhook = found
            if method == "GET":
                return _json(200, envelope(render_webhook(webhook, base)))
            if method == "PUT":
                body = json_body(request)
                try:
                    update_webhook(webhook, body)
                except WebhookRequestError as exc:
                    raise HttpError(400, str(exc)) from exc
                data = render_webhook(webhook, base)
                return _json(200, envelope(data, success="Webhook updated"))
            if method == "DELETE":
                del world.webhooks[webhook_id]
                self.state.webhooks.forget(webhook_id)
                return _json(200, envelope(None, success="Webhook deleted"))
        raise HttpError(405, f"{method} is not supported on /webhook/{{id}}")

    # --- /_sim control API ----------------------------------------------------------------

    def _control(self, request: Request, path: str) -> Response:
        method = request.method
        if path == "state" and method == "GET":
            return _json(200, envelope(self.summary()))
        if path == "advance" and method == "POST":
            return self._advance(json_body(request))
        if path == "webhooks":
            if method == "GET":
                return _json(200, envelope(self.state.webhooks.describe()))
            if method == "POST":
                return _json(200, envelope(self.webhook_knobs(json_body(request))))
            if method == "DELETE":
                return _json(200, envelope(self.state.webhooks.clear_knobs()))
        if path == "faults" and method == "POST":
            return _json(200, envelope(self.inject(json_body(request))))
        if path == "faults" and method == "DELETE":
            with self.state.lock:
                self.state.faults.clear()
            return _json(200, envelope({"pending": []}))
        if path == "reset" and method == "POST":
            self.state.reset(self._reset_config(json_body(request)))
            return _json(200, envelope(self.summary()))
        if path == "save" and method == "POST":
            saved = self.state.save()
            return _json(200, envelope({"stateFile": None if saved is None else str(saved)}))
        if path == "raw" or path.startswith("raw/"):
            return self._raw(request, path[len("raw") :].lstrip("/"))
        if path == "auth/expire" and method == "POST":
            body = json_body(request)
            dropped = self.state.expire_auth(
                sessions=body.get("sessions", True) is not False,
                tokens=body.get("tokens", True) is not False,
            )
            return _json(200, envelope(dropped))
        parts = path.split("/")
        if len(parts) == 2 and parts[0] in MUTABLE_KINDS and method == "POST":
            kind = parts[0]
            record_id = self._id(parts[1])
            with self.state.lock:
                record = self._find(kind, record_id)
                mutate(self.state.world, kind, record, json_body(request))
                self.state.observe()
                data = (
                    PlRenderer(self.state.world).render(kind, record)
                    if kind in PL_RESOURCES
                    else self._renderer(request).render(kind, record)
                )
            return _json(200, envelope(data))
        if len(parts) == 2 and parts[0] in MUTABLE_KINDS and method == "DELETE":
            kind, record_id = parts[0], self._id(parts[1])
            self.delete(kind, record_id)
            return _json(200, envelope({"kind": kind, "id": record_id, "deleted": True}))
        raise HttpError(404, f"no control endpoint {method} /_sim/{path}")

    def _raw(self, request: Request, kind: str) -> Response:
        """/_sim/raw[/<kind>]: POST one record's JSON text per line (served as it came, see
        simulator/raw.py), DELETE to forget them (every kind's without one), GET the counts."""
        if kind and kind not in RAW_KINDS:
            raise HttpError(404, f"no kind {kind!r}; raw records go to one of {list(RAW_KINDS)}")
        with self.state.lock:
            held = self.state.raw
            if request.method == "POST" and kind:
                id_keys = PL_ID_KEYS if kind in PL_RESOURCES else ID_KEYS
                added = held.add(kind, request.body, id_keys)
                return _json(200, envelope({"kind": kind, "added": added, "held": held.counts()}))
            if request.method == "DELETE":
                cleared = held.clear(kind or None)
                return _json(200, envelope({"cleared": cleared, "held": held.counts()}))
            if request.method == "GET":
                return _json(200, envelope({"held": held.counts()}))
        raise HttpError(405, f"{request.method} is not supported on /_sim/raw/{kind}")

    def _advance(self, body: dict[str, Any]) -> Response:
        given = [name for name in ("days", "minutes") if name in body]
        unknown = sorted(set(body) - {"days", "minutes"})
        if unknown or len(given) > 1:
            raise HttpError(400, f"send either days or minutes (one of them), got {sorted(body)}")
        name = given[0] if given else "days"
        amount = body.get(name, 1)
        limit = MAX_ADVANCE_DAYS if name == "days" else MAX_ADVANCE_MINUTES
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= limit:
            raise HttpError(400, f"{name} must be an integer from 0 to {limit}, got {amount!r}")
        with self.state.lock:
            if name == "days":
                counts = self.state.advance_days(amount)
            else:
                counts = self.state.advance_minutes(amount)
            world = self.state.world
            answer = {
                name: amount,
                "clock": world.clock,
                "today": world.today.isoformat(),
                "happened": counts,
            }
        return _json(200, envelope(answer))

    def delete(self, kind: str, record_id: int) -> None:
        """DELETE /_sim/<kind>/<id>: 404 for no such record, 400 for one the world still
        needs or a kind that is never deleted."""
        if kind not in DELETABLE_KINDS and kind in PL_RESOURCES:
            raise HttpError(
                400, f"PartsLedger records are not deleted; deletable: {list(DELETABLE_KINDS)}"
            )
        with self.state.lock:
            self._find(kind, record_id)
            try:
                delete_record(self.state.world, kind, record_id)
            except DeleteRefused as exc:
                raise HttpError(400, f"{exc}; deletable kinds: {list(DELETABLE_KINDS)}") from exc
            self.state.observe()

    def webhook_knobs(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.state.webhooks.set_knobs(body)
        except KnobError as exc:
            raise HttpError(400, str(exc)) from exc

    def summary(self) -> dict[str, Any]:
        with self.state.lock:
            world = self.state.world
            counts = {kind: len(world.table(kind)) for kind in READABLE_KINDS}
            return {
                "seed": world.seed,
                "scale": world.scale,
                "timezone": world.timezone,
                "clock": world.clock,
                "today": world.today.isoformat(),
                "counts": counts,
                "jobStatuses": _tally(job.status for job in world.jobs.values()),
                "invoiceStatuses": _tally(inv.status for inv in world.invoices.values()),
                "corrupted": [
                    {"kind": kind, "id": record_id} for kind, record_id in sorted(world.corruptions)
                ],
                "pendingFaults": [fault.describe() for fault in self.state.faults],
                "liveSessions": len(self.state.sessions.users),
                "authStats": dict(sorted(self.state.stats.items())),
                "partsledger": pl_summary(world),
                "dayInProgress": world.plan is not None,
                "pace": Decimal(str(self.state.config.pace)),
                "paceError": self.state.pace_error,
                "webhooks": {
                    "registered": len(world.webhooks),
                    "enabled": sum(hook.enabled for hook in world.webhooks.values()),
                    **self.state.webhooks.describe(),
                },
            }

    def _reset_config(self, body: dict[str, Any]) -> SimConfig | None:
        if not body:
            return None
        config = self.state.config
        changes: dict[str, Any] = {}
        if "seed" in body:
            changes["seed"] = _require_int(body["seed"], "seed")
        if "scale" in body:
            changes["scale"] = _require_int(body["scale"], "scale", minimum=1)
        if "startDate" in body:
            try:
                changes["start"] = date.fromisoformat(str(body["startDate"]))
            except ValueError as exc:
                raise HttpError(
                    400, f"startDate must be YYYY-MM-DD, got {body['startDate']!r}"
                ) from exc
        return SimConfig(**{**config.__dict__, **changes})

    def inject(self, body: dict[str, Any]) -> dict[str, Any]:
        """Queue faults (applied in the order given) and apply `malformed` corruption now."""
        body = dict(body)
        system = body.pop("system", None)
        if system is not None and system not in SYSTEMS:
            raise HttpError(400, f"system must be one of {list(SYSTEMS)}, got {system!r}")
        unknown = sorted(set(body) - {*FAULT_KINDS, "malformed"})
        if unknown:
            raise HttpError(
                400, f"unknown faults {unknown}; expected any of {[*FAULT_KINDS, 'malformed']}"
            )
        result: dict[str, Any] = {}
        faults: list[Fault] = []
        for kind, spec in body.items():
            if not isinstance(spec, dict):
                raise HttpError(400, f"{kind} must be an object, got {spec!r}")
            count = _require_int(spec.get("count", 1), f"{kind}.count", minimum=1)
            if kind == "malformed":
                target = spec.get("kind", "invoice")
                targets = (*CORRUPTIBLE_KINDS, *PL_CORRUPTIBLE_KINDS)
                if target not in targets:
                    raise HttpError(
                        400, f"malformed.kind must be one of {list(targets)}, got {target!r}"
                    )
                with self.state.lock:
                    result["malformed"] = {
                        "kind": target,
                        "ids": corrupt(self.state.world, target, count),
                    }
                    self.state.observe()
                continue
            aimed = spec.get("system", system)
            if aimed is not None and aimed not in SYSTEMS:
                raise HttpError(400, f"{kind}.system must be one of {list(SYSTEMS)}, got {aimed!r}")
            fault = Fault(kind, count, system=aimed)
            if kind == "rate_limit":
                fault.retry_after = str(
                    _require_int(spec.get("retry_after", 1), "rate_limit.retry_after", minimum=0)
                )
            elif kind == "server_error":
                fault.status = _require_int(
                    spec.get("status", 503), "server_error.status", minimum=500
                )
                if fault.status > 599:
                    raise HttpError(400, f"server_error.status must be 5xx, got {fault.status}")
            elif kind == "slow":
                seconds = spec.get("seconds", 1)
                if isinstance(seconds, float):  # from the Python API; a duration, not money
                    seconds = Decimal(str(seconds))
                fault.seconds = float(_require_decimal(seconds, "slow.seconds"))
            faults.append(fault)
        for fault in faults:
            self.state.queue_fault(fault)
        with self.state.lock:
            result["pending"] = [fault.describe() for fault in self.state.faults]
        return result


# --- helpers ----------------------------------------------------------------------------------


def _exists(world: World, record: Any) -> bool:
    """Whether the record exists yet at the world's now. A day's actions may date a record a
    little ahead (an invoice written up to three hours after its job was completed); served
    early, it would carry a timestamp from the future past a polling client's cursor."""
    return bool(record.created <= world.clock)


def _digits(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def _tally(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _require_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise HttpError(400, f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise HttpError(400, f"{name} must be at least {minimum}, got {value}")
    return value


def _require_decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise HttpError(400, f"{name} must be a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise HttpError(400, f"{name} must be a number, got {value!r}") from exc
    if not result.is_finite() or result < 0:
        raise HttpError(400, f"{name} must be a non-negative number, got {value!r}")
    return result


def _positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not _digits(raw) or int(raw) < 1:
        raise HttpError(400, f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _timestamp(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise HttpError(400, f"{name} must be a Unix timestamp in seconds, got {raw!r}") from exc


def _in_window(record: Record, bounds: Mapping[str, int | None]) -> bool:
    checks = (
        (bounds["createdAfter"], record.created, True),
        (bounds["createdBefore"], record.created, False),
        (bounds["updatedAfter"], record.updated, True),
        (bounds["updatedBefore"], record.updated, False),
    )
    for bound, value, after in checks:
        if bound is not None and (value < bound if after else value > bound):
            return False
    return True


def _csv(query: Mapping[str, str], name: str) -> set[str] | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _bool_param(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    return raw.lower() in ("1", "true", "yes")


def _ids(query: Mapping[str, str], name: str) -> set[int] | None:
    values = _csv(query, name)
    if values is None:
        return None
    if not all(_digits(value) for value in values):
        raise HttpError(400, f"{name} must be a comma-separated list of ids, got {query[name]!r}")
    return {int(value) for value in values}


def _matches(world: World, kind: str, record: Any, query: Mapping[str, str]) -> bool:
    statuses = _csv(query, "status")
    if kind == "job":
        return _job_matches(record, query, statuses)
    if kind == "invoice":
        types = _csv(query, "type")
        return (
            (statuses is None or record.status in statuses)
            and (types is None or record.type in types)
            and _id_filter(query, "jobId", record.job_id)
            and _id_filter(query, "customerId", record.customer_id)
            and _id_filter(query, "locationId", record.location_id)
        )
    if kind == "location":
        return (statuses is None or record.status in statuses) and _id_filter(
            query, "companyId", record.company_id
        )
    if kind == "user":
        is_tech = _bool_param(query, "isTech")
        return (
            (statuses is None or record.status in statuses)
            and (is_tech is None or record.is_tech == is_tech)
            and _id_filter(query, "company", record.company_id)
        )
    if kind == "company":
        customer = _bool_param(query, "customer")
        vendor = _bool_param(query, "vendor")
        return (
            (statuses is None or record.status in statuses)
            and (customer is None or record.customer == customer)
            and (vendor is None or record.vendor == vendor)
        )
    if kind == "jobitem":
        types = _csv(query, "libItemType")
        return (
            _id_filter(query, "jobId", record.job_id)
            and (types is None or world.lib_items[record.lib_item_id].type in types)
            and _bound(query, "usedOnAfter", record.used_on, after=True)
            and _bound(query, "usedOnBefore", record.used_on, after=False)
        )
    if kind == "clockevent":
        users = _ids(query, "userId") or _ids(query, "userIds")
        activities = _csv(query, "activity")
        sources = _csv(query, "source")
        return (
            (users is None or record.user_id in users)
            and _id_filter(query, "jobId", record.job_id)
            and (activities is None or record.activity in activities)
            and (sources is None or record.source in sources)
            and _bound(query, "startTime", record.event_time, after=True)
            and _bound(query, "endTime", record.event_time, after=False)
        )
    # comment
    entity_type = query.get("entityType")
    if entity_type:
        number = entity_type_of(entity_type)
        if number is None:
            raise HttpError(400, f"unknown entityType {entity_type!r}")
        if record.entity_type != number:
            return False
    return _id_filter(query, "entityId", record.entity_id)


def _bound(query: Mapping[str, str], name: str, value: int, *, after: bool) -> bool:
    """An inclusive Unix-seconds bound from the query (absent: no bound)."""
    bound = _timestamp(query, name)
    return bound is None or (value >= bound if after else value <= bound)


def _id_filter(query: Mapping[str, str], name: str, value: int | None) -> bool:
    wanted = _ids(query, name)
    return wanted is None or value in wanted


def _job_matches(job: Job, query: Mapping[str, str], statuses: set[str] | None) -> bool:
    numbers = _ids(query, "number")
    if numbers is not None and job.number not in numbers:
        return False
    if statuses is None:
        # Without `status`, ServiceTrade lists scheduled jobs only, unless a number is given.
        if numbers is None and job.status != "scheduled":
            return False
    elif "all" in statuses:
        if job.status == "canceled":
            return False
    elif job.status not in statuses:
        return False
    types = _csv(query, "type")
    return (
        (types is None or job.type in types)
        and _id_filter(query, "customerId", job.customer_id)
        and _id_filter(query, "locationId", job.location_id)
    )


# --- /_sim/<kind>/<id>: direct record changes for tests -----------------------------------------


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise HttpError(400, f"{name} must be a string, got {value!r}")
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body[name]
    if not isinstance(value, bool):
        raise HttpError(400, f"{name} must be true or false, got {value!r}")
    return value


def _choice(body: Mapping[str, Any], name: str, options: tuple[str, ...]) -> str:
    value = _text(body, name)
    if value not in options:
        raise HttpError(400, f"{name} must be one of {list(options)}, got {value!r}")
    return value


_SIMPLE_FIELDS: dict[str, dict[str, tuple[str, Callable[[Mapping[str, Any], str], Any]]]] = {
    "company": {
        "name": ("name", _text),
        "status": ("status", _text),
        "phoneNumber": ("phone", _text),
        "refNumber": ("ref_number", _text),
        "customer": ("customer", _flag),
        "vendor": ("vendor", _flag),
    },
    "location": {
        "name": ("name", _text),
        "status": ("status", _text),
        "phoneNumber": ("phone", _text),
        "email": ("email", _text),
        "refNumber": ("ref_number", _text),
        "taxable": ("taxable", _flag),
    },
    "user": {
        "firstName": ("first_name", _text),
        "lastName": ("last_name", _text),
        "email": ("email", _text),
        "status": ("status", _text),
        "isTech": ("is_tech", _flag),
    },
    "job": {
        "name": ("name", _text),
        "description": ("description", _text),
        "type": ("type", _text),
        "status": ("status", lambda body, name: _choice(body, name, JOB_STATUSES)),
    },
    "invoice": {
        "name": ("name", _text),
        "invoiceNumber": ("invoice_number", _text),
        "status": ("status", lambda body, name: _choice(body, name, INVOICE_STATUSES)),
        "type": ("type", lambda body, name: _choice(body, name, INVOICE_TYPES)),
        "partial": ("partial", _flag),
    },
    "comment": {"content": ("content", _text)},
    "jobitem": {
        "quantity": ("quantity", lambda body, name: _require_signed_decimal(body[name], name)),
        "cost": ("cost", lambda body, name: _require_decimal(body[name], name)),
        "description": ("description", _text),
        "usedOn": ("used_on", lambda body, name: _require_int(body[name], name)),
    },
    "clockevent": {
        "eventTime": ("event_time", lambda body, name: _require_int(body[name], name)),
        "activity": ("activity", _text),
    },
    "vendor": {
        "name": ("name", _text),
        "email": ("email", _text),
        "phone": ("phone", _text),
        "terms": ("terms", _text),
        "is1099": ("is_1099", _flag),
        "inactive": ("inactive", _flag),
    },
    "item": {
        "name": ("name", _text),
        "type": ("type", lambda body, name: _choice(body, name, ITEM_TYPES)),
        "purchasePrice": ("purchase_price", lambda body, name: _require_decimal(body[name], name)),
        "inactive": ("inactive", _flag),
    },
    "warehouse": {"name": ("name", _text), "inactive": ("inactive", _flag)},
    "purchase_order": {
        "status": ("status", lambda body, name: _choice(body, name, PO_STATUSES)),
        "description": ("description", _text),
    },
    "receipt": {"dateReceived": ("date_received", _text)},
    "bill": {
        "number": ("number", _text),
        "status": ("status", lambda body, name: _choice(body, name, BILL_STATUSES)),
        "tax": ("tax", lambda body, name: _require_decimal(body[name], name)),
        "freight": ("freight", lambda body, name: _require_decimal(body[name], name)),
        "billDate": ("bill_date", _text),
        "dueDate": ("due_date", _text),
    },
}


def mutate(world: World, kind: str, record: Any, body: Mapping[str, Any]) -> None:
    """Apply test changes (wire field names) to a record and bump `updated`.

    Besides the simple fields of `_SIMPLE_FIELDS`: invoice `transactionDate` (unix s) and
    `items` (replaces all items; each `{code, quantity, price?, description?, taxable?}`),
    location `taxGroup` (a tax group name or null), and for any kind `corrupt` (a list of
    `{op: "set"|"del", path: [...], value}` applied to the wire form; null clears).
    """
    fields = _SIMPLE_FIELDS[kind]
    changes: list[tuple[str, Any]] = []
    for name in body:
        if name in fields:
            attribute, reader = fields[name]
            changes.append((attribute, reader(body, name)))
        elif kind == "invoice" and name == "transactionDate":
            changes.append(("transaction_date", _require_int(body[name], name)))
        elif kind == "invoice" and name == "items":
            changes.append(("items", _items(world, record, body[name])))
        elif kind == "location" and name == "taxGroup":
            changes.append(("tax_group_id", _tax_group(world, body[name])))
        elif name == "corrupt":
            continue
        else:
            raise HttpError(
                400,
                f"{kind} field {name!r} cannot be set; settable: {sorted([*fields, 'corrupt'])}",
            )
    if "corrupt" in body:
        world_key = (kind, record.id)
        if body["corrupt"] is None:
            world.corruptions.pop(world_key, None)
        else:
            world.corruptions[world_key] = [
                *world.corruptions.get(world_key, []),
                *_operations(body["corrupt"]),
            ]
    for attribute, value in changes:
        setattr(record, attribute, value)
    record.updated = world.tick()


def _operations(raw: Any) -> list[tuple[str, tuple[str | int, ...], Any]]:
    if not isinstance(raw, list):
        raise HttpError(400, f"corrupt must be a list of operations, got {raw!r}")
    operations: list[tuple[str, tuple[str | int, ...], Any]] = []
    for entry in raw:
        if not isinstance(entry, dict) or entry.get("op") not in ("set", "del"):
            raise HttpError(400, f"each corrupt operation needs op 'set' or 'del', got {entry!r}")
        path = entry.get("path")
        if (
            not isinstance(path, list)
            or not path
            or not all(isinstance(step, str | int) and not isinstance(step, bool) for step in path)
        ):
            raise HttpError(400, f"corrupt path must be a non-empty list of keys, got {path!r}")
        operations.append((entry["op"], tuple(path), entry.get("value")))
    return operations


def _tax_group(world: World, raw: Any) -> int | None:
    if raw is None:
        return None
    for group in world.tax_groups.values():
        if group.name == raw:
            return group.id
    names = [group.name for group in world.tax_groups.values()]
    raise HttpError(400, f"taxGroup must be one of {names} or null, got {raw!r}")


def _items(world: World, invoice: Invoice, raw: Any) -> list[InvoiceItem]:
    if not isinstance(raw, list):
        raise HttpError(400, f"items must be a list, got {raw!r}")
    by_code = {lib.code: lib for lib in world.lib_items.values()}
    location = world.locations[invoice.location_id]
    line_id = next(iter(world.service_lines))
    items: list[InvoiceItem] = []
    for entry in raw:
        if not isinstance(entry, dict) or entry.get("code") not in by_code:
            raise HttpError(
                400, f"each item needs a libItem code from {sorted(by_code)}, got {entry!r}"
            )
        lib = by_code[entry["code"]]
        taxable = entry.get("taxable", lib.taxable and location.taxable)
        if not isinstance(taxable, bool):
            raise HttpError(400, f"item taxable must be true or false, got {taxable!r}")
        description = entry.get("description", lib.name)
        if not isinstance(description, str):
            raise HttpError(400, f"item description must be a string, got {description!r}")
        items.append(
            InvoiceItem(
                id=world.new_id(),
                description=description,
                quantity=_require_signed_decimal(entry.get("quantity", 1), "item quantity"),
                price=_require_signed_decimal(entry.get("price", lib.price), "item price"),
                cost=lib.cost,
                taxable=taxable,
                lib_item_id=lib.id,
                service_line_id=line_id,
            )
        )
    return items


def _require_signed_decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise HttpError(400, f"{name} must be a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise HttpError(400, f"{name} must be a number, got {value!r}") from exc
    if not result.is_finite():
        raise HttpError(400, f"{name} must be finite, got {value!r}")
    return result


__all__ = ["HttpError", "Request", "Response", "SimulatorApi", "envelope", "mutate"]
