"""The import contracts in pyproject.toml stay complete as modules are added: `lint-imports` checks
only the modules a contract names, so a stand-in or a package left out of a list is never checked."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from typing import Any

from tests.paths import ROOT

BOT = ROOT / "bot"
SANDBOX = ROOT / "sandbox"


def contracts() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c for c in data["tool"]["importlinter"]["contracts"]}


def top_level_modules() -> set[str]:
    """bot's children: its modules and its packages."""
    modules = {f"bot.{p.stem}" for p in BOT.glob("*.py") if p.stem != "__init__"}
    packages = {f"bot.{p.parent.name}" for p in BOT.glob("*/__init__.py")}
    return modules | packages


def layer_names(contract: dict[str, Any]) -> list[str]:
    return [name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)]


def test_no_contract_names_a_module_twice() -> None:
    repeated = {
        (contract_id, field, name)
        for contract_id, contract in contracts().items()
        for field, names in [
            ("source_modules", contract.get("source_modules", [])),
            ("forbidden_modules", contract.get("forbidden_modules", [])),
            ("layers", layer_names(contract) if "layers" in contract else []),
        ]
        for name, count in Counter(names).items()
        if count > 1
    }
    assert repeated == set()


def test_every_stand_in_is_held_standalone() -> None:
    """Everything in sandbox/ but the demo (sandbox/demo, which starts the app) is a stand-in: a
    new one that is not listed could import the product and nothing would say so."""
    children = {f"sandbox.{p.stem}" for p in SANDBOX.glob("*.py") if p.stem != "__init__"}
    children |= {f"sandbox.{p.parent.name}" for p in SANDBOX.glob("*/__init__.py")}
    assert set(contracts()["standins-standalone"]["source_modules"]) == children - {"sandbox.demo"}


def test_the_stand_ins_share_only_the_wire_formats() -> None:
    forbidden = set(contracts()["standins-standalone"]["forbidden_modules"])
    assert forbidden == top_level_modules() - {"bot.contracts"}


def test_the_sandbox_reaches_only_the_root_and_the_settings() -> None:
    allowed = {"bot.__main__", "bot.app", "bot.config", "bot.config_plain", "bot.contracts"}
    assert set(contracts()["sandbox-via-cli"]["forbidden_modules"]) == top_level_modules() - allowed


def test_the_product_never_imports_the_sandbox() -> None:
    contract = contracts()["product-without-sandbox"]
    assert contract["source_modules"] == ["bot"] and contract["forbidden_modules"] == ["sandbox"]


def test_the_layers_place_every_top_level_module() -> None:
    layered = {".".join(name.split(".")[:2]) for name in layer_names(contracts()["layers"])}
    assert top_level_modules() - layered == set()
