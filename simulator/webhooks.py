"""Webhooks (reference §7): registrations, and the entity events the world's changes make."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from simulator.model import (
    ENTITY_TYPES,
    RESOURCE_PATHS,
    WEBHOOK_ACTIONS,
    WEBHOOK_KINDS,
    Webhook,
    WebhookFilter,
    World,
)

#: The fields of a registration a client sends; PUT may change all but `hookUrl`.
CREATE_FIELDS = ("hookUrl", "entityEvents", "includeChangesets", "enabled")
UPDATE_FIELDS = ("entityEvents", "includeChangesets", "enabled")
#: Spellings of an entityEvents entry's action list seen in clients; `actions` is the usual one.
ACTION_KEYS = ("actions", "events", "eventType")
#: Fields whose old and new values an `updated` event's changeset carries (reference §7.2: job
#: `status` is one ServiceTrade tracks; invoice `status` is ours).
TRACKED_FIELDS = {"job": ("status",), "invoice": ("status",)}


class WebhookRequestError(ValueError):
    """A registration body the API refuses (400); the message says what was expected."""


# --- registration -----------------------------------------------------------------------------


def new_webhook(webhook_id: int, body: Mapping[str, Any]) -> Webhook:
    """A registration from a `POST /webhook` body (`enabled` defaults to true,
    `includeChangesets` to false, a missing or null `entityEvents` to every event)."""
    unknown = sorted(set(body) - set(CREATE_FIELDS))
    if unknown:
        raise WebhookRequestError(
            f"unknown webhook fields {unknown}; expected any of {list(CREATE_FIELDS)}"
        )
    if "hookUrl" not in body:
        raise WebhookRequestError("hookUrl is required")
    return Webhook(
        id=webhook_id,
        hook_url=_hook_url(body["hookUrl"]),
        enabled=_flag(body, "enabled", default=True),
        confirmed=False,
        include_changesets=_flag(body, "includeChangesets", default=False),
        entity_events=entity_events(body.get("entityEvents")),
    )


def update_webhook(webhook: Webhook, body: Mapping[str, Any]) -> None:
    """Apply a `PUT /webhook/{id}` body; `hookUrl` cannot change (delete and create again)."""
    if "hookUrl" in body and body["hookUrl"] != webhook.hook_url:
        raise WebhookRequestError(
            "hookUrl cannot be changed; delete this webhook and create one for the new URL"
        )
    unknown = sorted(set(body) - {*UPDATE_FIELDS, "hookUrl"})
    if unknown:
        raise WebhookRequestError(
            f"webhook fields {unknown} cannot be changed; expected any of {list(UPDATE_FIELDS)}"
        )
    if not set(body) & set(UPDATE_FIELDS):
        raise WebhookRequestError(f"nothing to change: send any of {list(UPDATE_FIELDS)}")
    enabled = _flag(body, "enabled", default=webhook.enabled)
    include_changesets = _flag(body, "includeChangesets", default=webhook.include_changesets)
    events = entity_events(body["entityEvents"]) if "entityEvents" in body else None
    webhook.enabled = enabled
    webhook.include_changesets = include_changesets
    if "entityEvents" in body:
        webhook.entity_events = events


def entity_events(raw: Any) -> list[WebhookFilter] | None:
    """`entityEvents` read leniently: None is every event; each entry's actions may be spelled
    `actions`, `events` or `eventType` (a list, or one action); repeated types are merged."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise WebhookRequestError(f"entityEvents must be a list or null, got {raw!r}")
    merged: dict[int, set[str]] = {}
    for index, entry in enumerate(raw):
        where = f"entityEvents[{index}]"
        if not isinstance(entry, dict):
            raise WebhookRequestError(f"{where} must be an object, got {entry!r}")
        spellings = [key for key in ACTION_KEYS if key in entry]
        unknown = sorted(set(entry) - {"entityType", *ACTION_KEYS})
        if unknown:
            raise WebhookRequestError(
                f"{where} has unknown fields {unknown}; expected entityType and actions"
            )
        if len(spellings) != 1:
            raise WebhookRequestError(
                f"{where} needs its actions in exactly one of {list(ACTION_KEYS)}"
            )
        entity_type = _entity_type(entry.get("entityType"), where)
        actions = entry[spellings[0]]
        if isinstance(actions, str):
            actions = [actions]
        if (
            not isinstance(actions, list)
            or not actions
            or not all(action in WEBHOOK_ACTIONS for action in actions)
        ):
            raise WebhookRequestError(
                f"{where}.{spellings[0]} must be a non-empty list of {list(WEBHOOK_ACTIONS)}, "
                f"got {actions!r}"
            )
        merged.setdefault(entity_type, set()).update(actions)
    return [
        WebhookFilter(entity_type, [action for action in WEBHOOK_ACTIONS if action in actions])
        for entity_type, actions in merged.items()
    ]


def render_webhook(webhook: Webhook, base_uri: str) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "uri": f"{base_uri}/webhook/{webhook.id}",
        "hookUrl": webhook.hook_url,
        "enabled": webhook.enabled,
        "confirmed": webhook.confirmed,
        "includeChangesets": webhook.include_changesets,
        "entityEvents": None
        if webhook.entity_events is None
        else [
            {"entityType": wanted.entity_type, "actions": list(wanted.actions)}
            for wanted in webhook.entity_events
        ],
    }


def _hook_url(raw: Any) -> str:
    if isinstance(raw, str):
        parts = urlsplit(raw)
        if parts.scheme in ("http", "https") and parts.hostname:
            return raw
    raise WebhookRequestError(f"hookUrl must be an absolute http:// or https:// URL, got {raw!r}")


def _flag(body: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise WebhookRequestError(f"{name} must be true or false, got {value!r}")
    return value


def _entity_type(raw: Any, where: str) -> int:
    known = {number: kind for kind, number in ENTITY_TYPES.items() if kind in WEBHOOK_KINDS}
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in known:
        return raw
    raise WebhookRequestError(f"{where}.entityType must be one of {known}, got {raw!r}")


# --- entity events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class EntityEvent:
    """One change of one ServiceTrade record, as a webhook message's `data` entry carries it."""

    action: str  # created | updated | deleted
    kind: str
    id: int
    timestamp: int  # the record's `updated` (the deletion's moment for deleted)
    user_id: int | None
    changeset: tuple[Change, ...] = ()

    def payload(self, base_uri: str, *, include_changeset: bool) -> dict[str, Any]:
        path = RESOURCE_PATHS.get(self.kind, self.kind)
        entry: dict[str, Any] = {
            "action": self.action,
            "timestamp": self.timestamp,
            "userId": self.user_id,
            "entity": {"type": self.kind, "id": self.id, "uri": f"{base_uri}/{path}/{self.id}"},
        }
        if include_changeset and self.action == "updated":
            entry["changeset"] = [
                {"field": change.field, "oldValue": change.old, "newValue": change.new}
                for change in self.changeset
            ]
        return entry


Mark = tuple[int, tuple[Any, ...]]  # `updated` and the tracked fields' values


def _mark(kind: str, record: Any) -> Mark:
    return record.updated, tuple(getattr(record, name) for name in TRACKED_FIELDS.get(kind, ()))


class ChangeTracker:
    """Finds what changed in the world's ServiceTrade records since the last scan: new ids
    (created), a different `updated` or tracked field (updated), ids gone (deleted, with the
    moment and user the world's deletion journal gives). A record dated after the world's now
    is not there yet (as the API does not serve it). Reading, never changing, the records, it
    leaves what the world generates as it is."""

    def __init__(self, world: World) -> None:
        self._seen: dict[str, dict[int, Mark]] = {}
        self.reset(world)

    def reset(self, world: World) -> None:
        """Take the world as it is now as seen (no events for it)."""
        self._seen = {
            kind: {
                record_id: _mark(kind, record)
                for record_id, record in _table(world, kind)
                if record.created <= world.clock
            }
            for kind in WEBHOOK_KINDS
        }
        world.deletions.clear()

    def scan(self, world: World, actor: int | None = None) -> list[EntityEvent]:
        """The events since the last scan, oldest first. `actor` is the user who made the
        changes (an API write); without it, job items and clock events name their technician
        and other changes have no user (a system process, as ServiceTrade sends null)."""
        journal = {(entry.kind, entry.id): entry for entry in world.deletions}
        world.deletions.clear()
        events: list[EntityEvent] = []
        for kind in WEBHOOK_KINDS:
            seen = self._seen[kind]
            now: dict[int, Mark] = {}
            for record_id, record in _table(world, kind):
                if record.created > world.clock:
                    continue  # not yet: it is created (and announced) when the clock gets there
                mark = now[record_id] = _mark(kind, record)
                before = seen.get(record_id)
                if before == mark:
                    continue
                user = actor if actor is not None else getattr(record, "user_id", None)
                if before is None:
                    events.append(EntityEvent("created", kind, record_id, mark[0], user))
                    continue
                fields = zip(TRACKED_FIELDS.get(kind, ()), before[1], mark[1], strict=True)
                changes = tuple(Change(name, old, new) for name, old, new in fields if old != new)
                events.append(EntityEvent("updated", kind, record_id, mark[0], user, changes))
            for record_id in seen.keys() - now.keys():
                deletion = journal.get((kind, record_id))
                events.append(
                    EntityEvent(
                        "deleted",
                        kind,
                        record_id,
                        world.clock if deletion is None else deletion.moment,
                        deletion.user_id if deletion is not None else actor,
                    )
                )
            self._seen[kind] = now
        rank = {kind: index for index, kind in enumerate(WEBHOOK_KINDS)}
        events.sort(key=lambda event: (event.timestamp, rank[event.kind], event.id))
        return events


def _table(world: World, kind: str) -> Iterable[tuple[int, Any]]:
    return world.table(kind).items()
