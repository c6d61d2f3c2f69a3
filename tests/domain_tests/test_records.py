from eventsourcing.application import Application

from domain.records import Known, SourceRecord, delete, observe, reject, source_record_id

PAYLOAD = {"id": "1", "name": "Acme"}


def test_first_sight_is_observed_and_the_same_content_again_is_nothing() -> None:
    first = observe(None, "servicetrade", "company", "1", PAYLOAD)
    assert isinstance(first, SourceRecord.Observed)
    assert first.originator_id == source_record_id("servicetrade", "company", "1")
    assert (
        observe(Known(1, first.content_hash), "servicetrade", "company", "1", dict(PAYLOAD)) is None
    )


def test_changed_content_is_the_next_version() -> None:
    changed = observe(Known(3, "old"), "servicetrade", "company", "1", PAYLOAD)
    assert isinstance(changed, SourceRecord.Changed)
    assert changed.originator_version == 4


def test_a_rejected_payload_is_kept_once_and_a_valid_one_clears_it() -> None:
    app: Application[object] = Application()
    first = observe(None, "servicetrade", "invoice", "9", PAYLOAD)
    bad = reject(
        Known(1, first.content_hash),
        "servicetrade",
        "invoice",
        "9",
        "quantity 'abc' is not a decimal",
        '{"id": 9}',
    )
    assert bad is not None
    assert (
        reject(Known(2, bad.content_hash), "servicetrade", "invoice", "9", "same", '{"id": 9}')
        is None
    )
    good = observe(Known(2, bad.content_hash), "servicetrade", "invoice", "9", PAYLOAD)
    assert good is not None
    app.save(first, bad)
    record = app.repository.get(first.originator_id)
    assert record.rejection == "quantity 'abc' is not a decimal"
    assert record.payload == PAYLOAD  # the last valid payload is not lost
    app.save(good)
    assert app.repository.get(first.originator_id).rejection is None


def test_a_payload_never_valid_is_quarantined_on_first_sight() -> None:
    app: Application[object] = Application()
    event = reject(None, "servicetrade", "company", "unidentified-ab", "no id", "{}")
    assert isinstance(event, SourceRecord.Quarantined)
    app.save(event)
    assert app.repository.get(event.originator_id).payload is None


def test_delete_only_once_and_only_what_is_held() -> None:
    assert delete(None, "servicetrade", "company", "1") is None
    deleted = delete(Known(2, "h"), "servicetrade", "company", "1")
    assert isinstance(deleted, SourceRecord.Deleted)
    assert delete(Known(3, ""), "servicetrade", "company", "1") is None
