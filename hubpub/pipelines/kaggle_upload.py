"""Uploading a model instance version to Kaggle Models, through Kaggle's own client.

``kagglehub`` (the optional extra ``hubpub[kaggle]``) provides what users already set up:
its credentials (``KAGGLE_API_TOKEN``, ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or
``~/.kaggle/kaggle.json``), the authenticated client (and its endpoint setting,
``KAGGLE_API_ENVIRONMENT``) and the resumable file upload. The model, instance and version are
created with the ``kagglesdk`` request types kagglehub itself uses, filled with what
``kagglehub.model_upload`` leaves out: overview, usage, fine-tunable flag and training data.

Every library call runs on a worker thread with a deadline (the client sets no timeout on its
API calls), with the library's console output (its logger, progress bars and, in its TEST
environment, request dumps that include the Authorization header) kept away from the
terminal: no credential is ever printed. Library errors become PublishErrors that say what
failed and what to do.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hubpub.errors import MissingExtraError, PublishError

__all__ = ["InstanceUpload", "credentials_source", "is_installed", "latest_version",
           "upload_version"]

T = TypeVar("T")
_FRAMEWORKS = {"tensorFlow1": "MODEL_FRAMEWORK_TENSOR_FLOW_1",
               "tensorFlow2": "MODEL_FRAMEWORK_TENSOR_FLOW_2"}
_HOW_TO_LOG_IN = ("set KAGGLE_API_TOKEN (or KAGGLE_USERNAME and KAGGLE_KEY), or put "
                  "kaggle.json in ~/.kaggle (kaggle.com > Settings > API > Create New Token)")


@dataclass(frozen=True)
class InstanceUpload:
    """One framework instance of a model variation, and the folder whose files it gets."""

    owner: str
    model: str
    framework: str  # tensorFlow1 | tensorFlow2
    variation: str
    folder: Path
    overview: str
    usage: str
    license_name: str
    fine_tunable: bool
    training_data: tuple[str, ...] = ()
    private: bool = True  # when the model itself must be created

    @property
    def handle(self) -> str:
        return f"{self.owner}/{self.model}/{self.framework}/{self.variation}"


def _kagglehub() -> Any:
    try:
        import kagglehub  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("kagglehub", "kaggle", "publishing to Kaggle") from exc
    from kagglehub import clients, config, exceptions, gcs_upload

    return clients, config, exceptions, gcs_upload


def credentials_source() -> str:
    """Which of the user's Kaggle credentials kagglehub will use (never their values).

    Raises:
        PublishError: there are none, or the credentials file is malformed.
        MissingExtraError: kagglehub is not installed.
    """
    _, config, _, _ = _kagglehub()
    try:
        credentials = config.get_kaggle_credentials()
    except ValueError as exc:  # a malformed kaggle.json; the message names the file only
        raise PublishError(f"cannot read the Kaggle credentials: {exc}") from exc
    if credentials is None:
        raise PublishError(f"no Kaggle credentials: {_HOW_TO_LOG_IN}")
    if credentials.api_key:
        return "an API token"
    return f"the API key of user '{credentials.username}'"


# --- calls -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _library_output_hidden() -> Iterator[None]:
    """The library's prints, progress bars and log lines go nowhere while it runs."""
    logger = logging.getLogger("kagglehub")
    sink = io.StringIO()
    disabled = logger.disabled
    logger.disabled = True
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        logger.disabled = disabled


def _call(what: str, call: Callable[[], T], timeout: float) -> T:
    """``call()`` on a daemon thread; a PublishError when it fails or passes ``timeout``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread, which explains it
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"hubpub-kaggle: {what}", daemon=True)
    with _library_output_hidden():
        worker.start()
        worker.join(timeout)
    if worker.is_alive():
        raise PublishError(f"{what}: Kaggle did not answer within {timeout:g} s (network "
                           "timeout); run the command again, it does not publish twice")
    if "error" in outcome:
        raise _explained(what, outcome["error"]) from outcome["error"]
    return outcome["value"]


def _explained(what: str, error: BaseException) -> BaseException:
    import requests

    _, _, exceptions, _ = _kagglehub()
    if isinstance(error, requests.HTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return PublishError(f"{what}: Kaggle refused the credentials (HTTP 401); "
                                f"{_HOW_TO_LOG_IN}")
        if status == 403:
            return PublishError(f"{what}: not allowed (HTTP 403): the account of these "
                                "credentials may not publish there; check the owner")
        return PublishError(f"{what}: Kaggle answered HTTP {status}")
    if isinstance(error, requests.Timeout):
        return PublishError(f"{what}: network timeout; run the command again, it does not "
                            "publish twice")
    if isinstance(error, requests.ConnectionError):
        return PublishError(f"{what}: the connection to Kaggle failed ({_reason(error)}); "
                            "run the command again, it does not publish twice")
    if isinstance(error, exceptions.BackendError):
        return PublishError(f"{what}: Kaggle refused it: {error}")
    return error  # not a failure of the service: a bug, with its traceback


def _reason(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    return text.split("(Caused by ")[-1].rstrip(")") if "Caused by" in text else text


# --- the service -----------------------------------------------------------------------------


def _client() -> Any:
    clients, _, _, _ = _kagglehub()
    return clients.build_kaggle_client()


def _model_exists(owner: str, model: str, timeout: float) -> bool:
    import requests
    from kagglesdk.models.types.model_api_service import ApiGetModelRequest

    def get() -> bool:
        request = ApiGetModelRequest()
        request.owner_slug, request.model_slug = owner, model
        with _client() as api:
            try:
                api.models.model_api_client.get_model(request)
            except requests.HTTPError as exc:
                if exc.response is not None and exc.response.status_code == 404:
                    return False
                raise
        return True

    return _call(f"looking up the model {owner}/{model}", get, timeout)


def latest_version(instance: InstanceUpload, *, timeout: float) -> int | None:
    """The newest version number of the instance on Kaggle; None when it does not exist."""
    import requests
    from kagglesdk.models.types.model_api_service import ApiGetModelInstanceRequest

    def get() -> int | None:
        request = ApiGetModelInstanceRequest()
        request.owner_slug, request.model_slug = instance.owner, instance.model
        request.framework = _framework(instance)
        request.instance_slug = instance.variation
        with _client() as api:
            try:
                found = api.models.model_api_client.get_model_instance(request)
            except requests.HTTPError as exc:
                if exc.response is not None and exc.response.status_code == 404:
                    return None
                raise
        return int(found.version_number)

    return _call(f"looking up {instance.handle}", get, timeout)


def upload_version(instance: InstanceUpload, *, notes: str, exists: bool,
                   timeout: float) -> None:
    """Uploads the folder's files and creates the instance (``exists`` False) or a version.

    Raises:
        PublishError: the upload or the creation failed; nothing is created when the files
            did not all arrive.
    """
    _, _, _, gcs_upload = _kagglehub()
    from kagglesdk.blobs.types.blob_api_service import ApiBlobType

    if not exists and not _model_exists(instance.owner, instance.model, timeout):
        _create_model(instance, timeout)
    files = sorted(p for p in instance.folder.rglob("*") if p.is_file())
    # One deadline per file: the library uploads them in parallel and resumes broken ones.
    tokens = _call(f"uploading {len(files)} files to {instance.handle} (the upload was "
                   "interrupted; nothing was created)",
                   lambda: gcs_upload.upload_files_and_directories(
                       str(instance.folder), ignore_patterns=[], item_type=ApiBlobType.MODEL,
                       quiet=True),
                   timeout * max(1, len(files)))
    if exists:
        _create_version(instance, tokens, notes, timeout)
    else:
        _create_instance(instance, tokens, timeout)


def _mutate(what: str, method: str, request: Any, timeout: float) -> None:
    """A create call; Kaggle reports its refusals in the answer's body (BackendError)."""
    _, _, exceptions, _ = _kagglehub()

    def create() -> None:
        with _client() as api:
            call = getattr(api.models.model_api_client, method)
            exceptions.handle_mutate_call(lambda: call(request))

    _call(what, create, timeout)


def _create_model(instance: InstanceUpload, timeout: float) -> None:
    from kagglesdk.models.types.model_api_service import ApiCreateModelRequest

    request = ApiCreateModelRequest()
    request.owner_slug, request.slug = instance.owner, instance.model
    request.title, request.is_private = instance.model, instance.private
    try:
        _mutate(f"creating the model {instance.owner}/{instance.model}", "create_model",
                request, timeout)
    except PublishError as exc:
        raise PublishError(f"{exc}; check that the owner '{instance.owner}' exists on Kaggle "
                           "and that these credentials may publish under it") from exc


def _framework(instance: InstanceUpload) -> Any:
    from kagglesdk.models.types.model_enums import ModelFramework

    return ModelFramework[_FRAMEWORKS[instance.framework]]


def _create_instance(instance: InstanceUpload, tokens: Any, timeout: float) -> None:
    from kagglesdk.models.types.model_api_service import (
        ApiCreateModelInstanceRequest,
        ApiCreateModelInstanceRequestBody,
    )

    uploaded = tokens.to_proto()
    request = ApiCreateModelInstanceRequest()
    request.owner_slug, request.model_slug = instance.owner, instance.model
    body = ApiCreateModelInstanceRequestBody()
    body.instance_slug, body.framework = instance.variation, _framework(instance)
    body.overview, body.usage = instance.overview, instance.usage
    body.license_name, body.fine_tunable = instance.license_name, instance.fine_tunable
    body.training_data = list(instance.training_data)
    body.files, body.directories = uploaded.files, uploaded.directories
    request.body = body
    _mutate(f"creating {instance.handle}", "create_model_instance", request, timeout)


def _create_version(instance: InstanceUpload, tokens: Any, notes: str, timeout: float) -> None:
    from kagglesdk.models.types.model_api_service import (
        ApiCreateModelInstanceVersionRequest,
        ApiCreateModelInstanceVersionRequestBody,
    )

    uploaded = tokens.to_proto()
    request = ApiCreateModelInstanceVersionRequest()
    request.owner_slug, request.model_slug = instance.owner, instance.model
    request.framework, request.instance_slug = _framework(instance), instance.variation
    body = ApiCreateModelInstanceVersionRequestBody()
    body.version_notes = notes
    body.files, body.directories = uploaded.files, uploaded.directories
    request.body = body
    _mutate(f"creating a version of {instance.handle}", "create_model_instance_version",
            request, timeout)


def is_installed() -> bool:
    """True when kagglehub imports (the dry run says so when it does not)."""
    try:
        _kagglehub()
    except MissingExtraError:
        return False
    return True

