"""Every stack's contract companion (stacks.toml) is checked against the contract it was
made from: a stale one is regenerated, or refused when edited by hand; never used."""

from __future__ import annotations

import importlib

import pytest
import yaml

from components.shared import stacks
from components.shared.contract import ContractError, load_contract
from tests.conftest import write_contract

STACKS = list(stacks.load().values())


def _module(stack: stacks.Stack):  # noqa: ANN202
    try:
        return importlib.import_module(stack.companion_module)
    except ImportError as exc:
        pytest.skip(f"{stack.name}'s packages are not installed here: {exc}")


def _narrowed(tmp_path):  # noqa: ANN001, ANN202
    """A copy of the penguins contract, its companions as shipped, one range narrowed."""
    columns = yaml.safe_load(load_contract().source.read_text())["columns"]
    columns["body_mass_g"] = {**columns["body_mass_g"], "max": 5000}
    return load_contract(write_contract(tmp_path, columns=columns))


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: s.name)
def test_a_fresh_companion_is_used_as_it_is(stack, tmp_path):
    module = _module(stack)
    contract = load_contract(
        write_contract(tmp_path, evaluation={"min_accuracy": 0.5, "max_accuracy_drop": 0.1})
    )
    path = contract.companion(stack.companion_suffix)
    before = path.read_text()
    # A changed threshold is not a change to what the companion is made from.
    assert module.fresh_companion(contract) == path and path.read_text() == before


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: s.name)
def test_a_stale_companion_is_regenerated_and_says_so(stack, tmp_path, capsys):
    module = _module(stack)
    contract = _narrowed(tmp_path)
    path = contract.companion(stack.companion_suffix)
    shipped = path.read_text()
    assert module.fresh_companion(contract) == path
    assert f"regenerated {path}" in capsys.readouterr().out
    assert path.read_text() != shipped
    regenerated = path.read_text()
    module.write_companion(contract)
    assert path.read_text() == regenerated  # exactly what the generator writes
    module.fresh_companion(contract)
    assert capsys.readouterr().out == ""  # fresh now: left alone


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: s.name)
def test_a_stale_companion_edited_by_hand_is_refused_with_the_command(stack, tmp_path):
    module = _module(stack)
    contract = _narrowed(tmp_path)
    path = contract.companion(stack.companion_suffix)
    edited = path.read_text().replace("Biscoe", "Biscoe Island", 1)
    path.write_text(edited)
    with pytest.raises(ContractError) as refused:
        module.fresh_companion(contract)
    assert "edited by hand" in str(refused.value)
    assert f"python -m {stack.companion_module} {contract.source}" in str(refused.value)
    assert path.read_text() == edited  # the user's edit is kept
