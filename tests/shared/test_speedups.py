"""The run machinery's speed-ups: what switches one off, and what a hidden module does."""

from __future__ import annotations

import importlib
import sys

import pytest

from components.shared import speedups


def test_a_speed_up_is_off_when_named_in_the_variable(monkeypatch):
    monkeypatch.setenv(speedups.OFF_VARIABLE, "one,two")
    assert not speedups.enabled("two") and speedups.enabled("three")


def test_a_hidden_module_is_unimportable_in_the_block_only(monkeypatch):
    name = "colorsys"  # stdlib, imported by nothing here
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delenv(speedups.OFF_VARIABLE, raising=False)
    with speedups.modules_hidden([name]), pytest.raises(ImportError):
        importlib.import_module(name)
    assert importlib.import_module(name).rgb_to_hsv  # after the block: as usual
    monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv(speedups.OFF_VARIABLE, "module-stubs")
    with speedups.modules_hidden([name]):  # the speed-up off: nothing hidden
        assert importlib.import_module(name).rgb_to_hsv
