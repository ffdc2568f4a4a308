"""SpiffWorkflow internals Sanchika relies on (engine/bpm/spiff_private.py): an upgrade of
SpiffWorkflow must fail here first, not in a stored workflow months later."""

from __future__ import annotations

from importlib.metadata import version

from SpiffWorkflow.bpmn.serializer.workflow import VERSION

from engine.bpm import spiff_private

UPGRADE = ("SpiffWorkflow is now {found}, engine/bpm/spiff_private.py was checked against "
           "{checked}. Re-check every internal it wraps, run tests/unit/test_golden_state.py "
           "(a state stored by the old version must still load), then raise CHECKED_VERSION.")


def test_spiffworkflow_is_the_version_the_internals_were_checked_against() -> None:
    found = version("SpiffWorkflow")
    assert found == spiff_private.CHECKED_VERSION, UPGRADE.format(
        found=found, checked=spiff_private.CHECKED_VERSION)


def test_every_wrapped_internal_still_exists() -> None:
    assert spiff_private.missing() == []


def test_stored_states_carry_the_serializer_format_we_store() -> None:
    # the format version written into every stored state; a change means SpiffWorkflow's
    # migrations will run over old states on load (the golden test covers that they work)
    assert VERSION == "1.5"
