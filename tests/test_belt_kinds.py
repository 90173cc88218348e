"""One registry of belt kinds (sensing.belts.kinds): scanning, adapters, signals and the CLI
help all read it, so a new kind is one entry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import InputError, SourceError
from sensing.belts import (
    BELT_KINDS, BeltKind, belt_kinds_help, belt_signal, get_belt_kind, kind_from_name, kind_from_services,
    load_generic_config, make_adapter, register_belt_kind,
)
from sensing.belts.adapters import GenericAdapter, PolarAdapter, VernierAdapter
from core.signals import BREATH_SIGNALS

REPO = Path(__file__).resolve().parents[1]
TOML = ('name = "Stretch"\nservice_uuid = "0000ffe0-0000-1000-8000-00805f9b34fb"\n'
        'characteristic_uuid = "0000ffe1-0000-1000-8000-00805f9b34fb"\n'
        'struct_format = "<Hh"\nvalue_field = 1\nsample_rate_hz = 20\n')


def test_the_three_kinds_and_what_each_measures():
    assert tuple(BELT_KINDS) == ("vernier", "polar", "generic")
    assert {k: v.signal for k, v in BELT_KINDS.items()} == {
        "vernier": "belt", "polar": "accelerometer", "generic": "belt"}
    assert [k for k, v in BELT_KINDS.items() if v.heart_rate] == ["polar"]
    assert isinstance(make_adapter("vernier"), VernierAdapter) and isinstance(make_adapter("polar"), PolarAdapter)
    assert kind_from_name("GDX-RB 0K1012") == "vernier" and kind_from_name("polar h10 ABCD") == "polar"
    assert kind_from_name("Some headphones") is None
    assert kind_from_services(["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"]) == "polar"
    with pytest.raises(SourceError, match="vernier, polar, generic"):
        make_adapter("philips")


def test_a_generic_belt_names_its_signal_in_its_file(tmp_path):
    plain, impedance, bad = (tmp_path / f"{n}.toml" for n in ("plain", "impedance", "bad"))
    plain.write_text(TOML)
    impedance.write_text(TOML + 'signal = "impedance"\n')
    bad.write_text(TOML + 'signal = "sonar"\n')
    assert belt_signal("generic", config=load_generic_config(plain)) == "belt"
    config = load_generic_config(impedance)
    assert belt_signal("generic", config=config) == "impedance"
    assert isinstance(make_adapter("generic", config=config), GenericAdapter)
    assert belt_signal("polar") == "accelerometer"
    with pytest.raises(InputError, match="signal") as err:
        load_generic_config(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(SourceError, match="TOML"):
        make_adapter("generic")


def test_a_new_kind_is_one_entry():
    kind = BeltKind("breathband", "BreathBand strap", signal="impedance",
                    adapter=lambda _config: VernierAdapter(), name_prefix="BB-")
    register_belt_kind(kind)
    try:
        assert belt_kinds_help() == "vernier | polar | generic | breathband"
        assert kind_from_name("BB-0042") == "breathband" and get_belt_kind("breathband") is kind
        assert isinstance(make_adapter("breathband"), VernierAdapter)
        assert belt_signal("breathband") == "impedance"
        with pytest.raises(ValueError):
            register_belt_kind(kind)
    finally:
        del BELT_KINDS["breathband"]
    with pytest.raises(ValueError, match="signal"):
        BeltKind("x", "x", signal="sonar", adapter=lambda _config: VernierAdapter())
    assert set(BREATH_SIGNALS) >= {v.signal for v in BELT_KINDS.values()}


@pytest.mark.parametrize("argv", [["belt", "record", "--help"], ["breathe", "--help"], ["practice", "--help"],
                                  ["breath", "analyze", "--help"]])
def test_every_kind_option_is_explained_from_the_registry(argv):
    out = subprocess.run([sys.executable, "-m", "mindmove", *argv], cwd=REPO, capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}, check=True).stdout
    assert belt_kinds_help() in " ".join(out.split())
