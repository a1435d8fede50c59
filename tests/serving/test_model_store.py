"""Loading the registered model: unwrapping the pyfunc, the version from the registry, and a
clear error when what is registered is not an EscalationModel."""

from __future__ import annotations

import pytest

from risk.model import EscalationModel
from serving.model_store import ModelLoadError, ModelStore, unwrap_escalation_model
from serving.settings import Settings


def test_unwrap_finds_the_escalation_model_inside_the_registered_pyfunc(registry) -> None:
    import mlflow

    mlflow.set_tracking_uri(registry.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/dispute-escalation/{registry.version}")
    model = unwrap_escalation_model(pyfunc)
    assert isinstance(model, EscalationModel) and model.name == "dispute-escalation"


def test_unwrap_of_something_else_says_what_it_found() -> None:
    with pytest.raises(ModelLoadError, match="not an EscalationModel logged as a pyfunc callable"):
        unwrap_escalation_model(lambda frame: frame)


def test_store_loads_the_champion_with_its_registry_version(registry, sqlite_url) -> None:
    store = ModelStore(Settings(mlflow_tracking_uri=registry.tracking_uri, database_url=sqlite_url))
    loaded = store.load()
    assert (loaded.name, loaded.version, loaded.uri) == (
        "dispute-escalation",
        registry.version,
        f"models:/dispute-escalation/{registry.version}",
    )
    assert store.load() is loaded  # the alias has not moved: nothing is loaded again


def test_store_without_a_model_keeps_the_reason(registry, sqlite_url) -> None:
    store = ModelStore(
        Settings(
            mlflow_tracking_uri=registry.tracking_uri, database_url=sqlite_url, model_alias="no-such-alias"
        )
    )
    with pytest.raises(ModelLoadError):
        store.load()
    assert store.current is None and "models:/dispute-escalation@no-such-alias" in (store.error or "")
