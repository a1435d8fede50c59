"""Loading the registered EscalationModel from MLflow, and swapping in a new champion.

A reload loads the new version completely (with its live history: the history as trained plus
the replayed facts, see serving.history_follower), then replaces one reference: a request holds
the ``LoadedModel`` it started with, so none fails or mixes two models during the swap. A model
that cannot be loaded leaves the store empty with the reason, which /health/ready and the
score endpoints report (503), instead of crashing the process."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from risk.model import MODEL_NAME, EscalationModel, NotAnEscalationModel, unwrap_pyfunc
from serving.errors import ModelUnavailable
from serving.live_history import LiveHistory
from serving.settings import Settings

log = logging.getLogger(__name__)

_ALIAS_URI = re.compile(r"models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)")
_VERSION_URI = re.compile(r"models:/(?P<name>[^/@]+)/(?P<version>\d+)")


class ModelLoadError(RuntimeError):
    """The configured model could not be found or is not an EscalationModel."""


@dataclass(frozen=True)
class LoadedModel:
    model: EscalationModel
    history: LiveHistory  # what this model scores against: its history as trained, plus intake since
    name: str
    version: str | None
    uri: str
    loaded_at: datetime


def unwrap_escalation_model(pyfunc_model: Any) -> EscalationModel:
    """The EscalationModel inside an MLflow pyfunc logged with ``python_model=<the model>``
    (the unwrapping itself lives beside the model, in ``risk.model.unwrap_pyfunc``)."""
    try:
        return unwrap_pyfunc(pyfunc_model)
    except NotAnEscalationModel as exc:
        raise ModelLoadError(
            f"the registered model is not an EscalationModel logged as a pyfunc callable: {exc}"
        ) from exc


def history_as_trained(model: EscalationModel) -> LiveHistory:
    return LiveHistory(model.history).warm()


class ModelStore:
    """The current model of the app, its source, and what went wrong if there is none.
    ``prepare_history`` makes a loaded model's live history before the model becomes current."""

    def __init__(
        self,
        settings: Settings,
        prepare_history: Callable[[EscalationModel], LiveHistory] = history_as_trained,
    ) -> None:
        self.settings = settings
        self.prepare_history = prepare_history
        self.current: LoadedModel | None = None
        self.error: str | None = None
        self._lock = threading.Lock()  # one load at a time; readers never take it

    @property
    def target_uri(self) -> str:
        s = self.settings
        return s.model_uri or f"models:/{s.model_name or MODEL_NAME}@{s.model_alias}"

    def get(self) -> LoadedModel:
        loaded = self.current
        if loaded is None:
            raise ModelUnavailable(f"no model is loaded: {self.error or 'still loading'}")
        return loaded

    def _client(self) -> Any:
        from mlflow import MlflowClient

        # The registry named too: left out, MLflow takes the process-wide tracking URI, which the
        # last load of any store in this process set (two stores in one process: the wrong one).
        uri = self.settings.mlflow_tracking_uri
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    def resolve(self) -> tuple[str, str | None, str]:
        """(model name, version, URI to load that exact version) for the configured target."""
        uri = self.target_uri
        if m := _ALIAS_URI.fullmatch(uri):
            mv = self._client().get_model_version_by_alias(m["name"], m["alias"])
            return m["name"], str(mv.version), f"models:/{m['name']}/{mv.version}"
        if m := _VERSION_URI.fullmatch(uri):
            return m["name"], m["version"], uri
        return self.settings.model_name or MODEL_NAME, None, uri

    def load(self) -> LoadedModel:
        """Resolve and load the configured model, then make it current."""
        import mlflow

        with self._lock:
            try:
                name, version, uri = self.resolve()
                if self.current is not None and version is not None and self.current.version == version:
                    return self.current
                # models:/ URIs resolve through the process-wide registry URI: this store's.
                mlflow.set_tracking_uri(self.settings.mlflow_tracking_uri)
                mlflow.set_registry_uri(self.settings.mlflow_tracking_uri)
                model = unwrap_escalation_model(mlflow.pyfunc.load_model(uri))
                model.warm()  # the single-case path's tables, built before the first request
                history = self.prepare_history(model)
            except Exception as exc:  # any failure: keep serving what we have, report why
                reason = f"cannot load {self.target_uri} from {self.settings.mlflow_tracking_uri}: {exc}"
                if self.current is None:
                    self.error = reason
                log.error("model load failed", extra={"model_uri": self.target_uri, "reason": str(exc)[:500]})
                raise ModelLoadError(reason) from exc
            loaded = LoadedModel(model, history, name, version, uri, datetime.now(UTC))
            previous, self.current, self.error = self.current, loaded, None
        log.info(
            "model loaded",
            extra={
                "model_name": name,
                "model_version": version,
                "previous_version": previous.version if previous else None,
            },
        )
        return loaded
