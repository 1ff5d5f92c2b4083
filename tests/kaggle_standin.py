"""A stand-in for Kaggle's model API on 127.0.0.1, for the requests kagglehub really makes.

kagglehub's client (kagglesdk) posts JSON to ``<endpoint>/api/v1/<service>/<method>``; with
``KAGGLE_API_ENVIRONMENT=TEST`` the endpoint is ``http://localhost:7777`` (the library's own
setting, which has no other port). Files go through ``StartBlobUpload`` and then resumable
PUTs to the ``createUrl`` it returns (``Content-Range``; ``bytes */N`` asks how much arrived,
answered 308 with ``Range``). The server keeps models, instances, versions and the bytes it
received, and can be told to fail in each way the real service can.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PORT = 7777
TOKEN = "hubpub-test-token-7f3a9c"  # tests check that it never reaches the output
FRAMEWORKS = {"MODEL_FRAMEWORK_TENSOR_FLOW_1": "tensorFlow1",
              "MODEL_FRAMEWORK_TENSOR_FLOW_2": "tensorFlow2"}


@dataclass
class Instance:
    body: dict[str, Any]  # the CreateModelInstance body, as received
    versions: list[dict[str, Any]] = field(default_factory=list)  # {notes, files{path: bytes}}


@dataclass
class State:
    owners: set[str] = field(default_factory=lambda: {"hubpub-examples"})
    models: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    instances: dict[tuple[str, str, str, str], Instance] = field(default_factory=dict)
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> name, size, data
    calls: list[str] = field(default_factory=list)
    # Failures to inject: method -> HTTP status; "slow": method -> seconds;
    # "drop_upload_once": close the connection halfway through the first PUT of that file;
    # "lose_response": method -> do it, then close the connection without answering (once).
    status: dict[str, int] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    drop_upload_once: set[str] = field(default_factory=set)
    lose_response: set[str] = field(default_factory=set)
    upload_status: int | None = None

    def files_of(self, key: tuple[str, str, str, str], version: int) -> dict[str, bytes]:
        return self.instances[key].versions[version - 1]["files"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def _json(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header == f"Bearer {TOKEN}":
            return True
        if header.startswith("Basic "):
            return base64.b64decode(header[6:]).decode() == f"tester:{TOKEN}"
        return False

    def do_POST(self) -> None:  # noqa: N802  # the name http.server calls
        state = self.server.state
        method = self.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        state.calls.append(method)
        time.sleep(state.slow.get(method, 0))
        if not self._authorized():
            return self._json(401, {"code": 401, "message": "Unauthenticated"})
        if method in state.status:
            status = state.status[method]
            return self._json(status, {"code": status, "message": f"{method} failed"})
        answer = getattr(self, f"_{method}")(state, request)
        if method in state.lose_response:
            state.lose_response.discard(method)
            self.close_connection = True
            self.connection.shutdown(2)  # done on the server, the answer never arrives
            return None
        return self._json(*answer)

    # --- the model API --------------------------------------------------------------------
    def _GetModel(self, state: State, r: dict) -> tuple[int, dict]:  # noqa: N802
        model = state.models.get((r["ownerSlug"], r["modelSlug"]))
        if model is None:
            return 404, {"code": 404, "message": "Model not found"}
        return 200, model

    def _CreateModel(self, state: State, r: dict) -> tuple[int, dict]:  # noqa: N802
        if r["ownerSlug"] not in state.owners:
            return 200, {"error": f"No user or organization '{r['ownerSlug']}'",
                         "errorCode": 404}
        state.models[(r["ownerSlug"], r["slug"])] = {"slug": r["slug"], "title": r["title"],
                                                     "isPrivate": r.get("isPrivate", False)}
        return 200, {"ref": f"{r['ownerSlug']}/{r['slug']}"}

    def _key(self, r: dict, body: dict | None = None) -> tuple[str, str, str, str]:
        source = body if body is not None else r
        return (r["ownerSlug"], r["modelSlug"], FRAMEWORKS[source["framework"]],
                source["instanceSlug"])

    def _GetModelInstance(self, state: State, r: dict) -> tuple[int, dict]:  # noqa: N802
        instance = state.instances.get(self._key(r))
        if instance is None:
            return 404, {"code": 404, "message": "Instance not found"}
        return 200, {"slug": r["instanceSlug"], "versionNumber": len(instance.versions)}

    def _files(self, state: State, body: dict) -> dict[str, bytes]:
        files = {}

        def walk(prefix: str, entries: list, directories: list) -> None:
            for entry in entries:
                blob = state.blobs[entry["token"]]
                assert len(blob["data"]) == blob["size"], "created before the upload ended"
                files[prefix + blob["name"]] = bytes(blob["data"])
            for directory in directories:
                walk(f"{prefix}{directory['name']}/", directory.get("files", []),
                     directory.get("directories", []))

        walk("", body.get("files", []), body.get("directories", []))
        return files

    def _CreateModelInstance(self, state: State, r: dict) -> tuple[int, dict]:  # noqa: N802
        body = r["body"]
        key = self._key(r, body)
        if (key[0], key[1]) not in state.models:
            return 200, {"error": "Model not found", "errorCode": 404}
        if key in state.instances:
            return 200, {"error": "Instance exists", "errorCode": 409}
        instance = Instance(body)
        instance.versions.append({"notes": "", "files": self._files(state, body)})
        state.instances[key] = instance
        return 200, {"ref": "/".join(key)}

    def _CreateModelInstanceVersion(self, state: State, r: dict  # noqa: N802
                                    ) -> tuple[int, dict]:
        key = self._key(r)
        instance = state.instances.get(key)
        if instance is None:
            return 200, {"error": "Instance not found", "errorCode": 404}
        body = r["body"]
        instance.versions.append({"notes": body.get("versionNotes", ""),
                                  "files": self._files(state, body)})
        return 200, {"ref": "/".join(key)}

    def _StartBlobUpload(self, state: State, r: dict) -> tuple[int, dict]:  # noqa: N802
        token = f"blob-{len(state.blobs)}"
        state.blobs[token] = {"name": r["name"], "size": int(r.get("contentLength", 0)),
                              "data": bytearray()}
        return 200, {"token": token,
                     "createUrl": f"http://localhost:{PORT}/upload/{token}"}

    # --- resumable uploads ----------------------------------------------------------------
    def do_PUT(self) -> None:  # noqa: N802
        state = self.server.state
        blob = state.blobs[self.path.rsplit("/", 1)[-1]]
        length = int(self.headers.get("Content-Length", 0))
        ranged = self.headers.get("Content-Range", "")
        if ranged.startswith("bytes */"):  # how much arrived?
            return self._arrived(blob)
        if state.upload_status is not None:
            self.rfile.read(length)
            return self._json(state.upload_status, {"message": "upload refused"})
        start = int(ranged.split()[1].split("-")[0]) if ranged else 0
        if blob["name"] in state.drop_upload_once and length > 1:
            state.drop_upload_once.discard(blob["name"])
            half = self.rfile.read(length // 2)
            blob["data"][start:] = half
            self.close_connection = True
            self.connection.shutdown(2)  # the connection breaks halfway
            return None
        del blob["data"][start:]
        blob["data"] += self.rfile.read(length)
        if len(blob["data"]) < blob["size"]:
            return self._arrived(blob)
        return self._json(200, {})

    def _arrived(self, blob: dict) -> None:
        if len(blob["data"]) >= blob["size"]:
            return self._json(200, {})
        self.send_response(308)
        if blob["data"]:
            self.send_header("Range", f"bytes=0-{len(blob['data']) - 1}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class KaggleStandIn:
    """``with KaggleStandIn() as kaggle:`` serves on 127.0.0.1:7777; ``kaggle.state`` is it."""

    def __init__(self) -> None:
        self.state = State()
        self._server = _Server(("127.0.0.1", PORT), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> KaggleStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.state.__init__()  # type: ignore[misc]


def environment(home: str) -> dict[str, str]:
    """Environment variables that point kagglehub at the stand-in, with test credentials."""
    return {"KAGGLE_API_ENVIRONMENT": "TEST", "KAGGLE_API_TOKEN": TOKEN, "HOME": home,
            "KAGGLE_CONFIG_DIR": f"{home}/.kaggle", "NO_PROXY": "localhost,127.0.0.1",
            "no_proxy": "localhost,127.0.0.1"}
