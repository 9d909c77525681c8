"""The key folder on disk: one `<kid>.json` per key, written whole or not at all.

Here: the file format, atomic writes (temporary file, fsync, os.replace; mode 0600), the
folder's listing that tells another process's change apart, and `<dir>/.lock`, the one lock
every process takes before it adds or deletes a key. Not here: what the keys mean (store.py)
or how the private halves are sealed (sealing.py); this module never sees a private key.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from idp.keys import jwk
from idp.keys.errors import KeyStoreError

Listing = tuple[tuple[str, int, int, int], ...]  # (name, inode, mtime_ns, size) per key file


@dataclass(frozen=True)
class KeyFile:
    """One key as stored: public JWK in clear, private JWK sealed; times in epoch seconds."""

    kid: str
    alg: str
    created_at: float
    activates_at: float
    public_jwk: dict[str, Any]
    sealed: str

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "kid": self.kid,
                "alg": self.alg,
                "created_at": _iso(self.created_at),
                "activates_at": _iso(self.activates_at),
                "public_jwk": self.public_jwk,
                "private": self.sealed,
            },
            indent=2,
        ).encode()


class KeyFolder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def listing(self) -> Listing:
        """What is in the folder now; equal listings mean unchanged files."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return ()
        except OSError as error:
            raise self._cannot("read", error) from None
        rows = []
        for entry in entries:
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                rows.append((entry.name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(rows))

    def read(self, listing: Listing) -> tuple[KeyFile, ...]:
        """The key files of `listing`, oldest activation first."""
        files = []
        for name, *_ in listing:
            path = self.directory / name
            try:
                files.append(_parse(path, path.read_bytes()))
            except FileNotFoundError:
                continue  # pruned by another process since the listing; the next one shows it
            except OSError as error:
                raise self._cannot("read", error) from None
        return tuple(sorted(files, key=lambda f: (f.activates_at, f.created_at, f.kid)))

    def write(self, file: KeyFile) -> None:
        """Write the key whole or not at all: a reader never sees half a key."""
        with self._writing():
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(file.to_json())
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, self.directory / f"{file.kid}.json")
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            folder = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(folder)  # the rename itself survives a crash
            finally:
                os.close(folder)

    def delete(self, kid: str) -> None:
        with self._writing():
            (self.directory / f"{kid}.json").unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold `<dir>/.lock`, shared by every process using this folder."""
        with self._writing():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            raise self._cannot("write to", error) from None

    def _cannot(self, verb: str, error: OSError) -> KeyStoreError:
        reason = error.strerror or str(error)
        return KeyStoreError(f"IDP_KEYS_DIR: cannot {verb} {self.directory}: {reason}")


def _parse(path: Path, raw: bytes) -> KeyFile:
    try:
        data = json.loads(raw)
        kid, alg = str(data["kid"]), jwk.algorithm(str(data["alg"]))
        file = KeyFile(
            kid=kid,
            alg=alg,
            created_at=datetime.fromisoformat(data["created_at"]).timestamp(),
            activates_at=datetime.fromisoformat(data["activates_at"]).timestamp(),
            # RFC 7517 §4.2-4.4: what a verifier needs besides the key itself.
            public_jwk={**jwk.public(data["public_jwk"]), "kid": kid, "use": "sig", "alg": alg},
            sealed=str(data["private"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise KeyStoreError(f"IDP_KEYS_DIR: {path} is not a signing key file: {error}") from None
    if path.name != f"{file.kid}.json" or file.alg not in jwk.ALGORITHMS:
        raise KeyStoreError(f"IDP_KEYS_DIR: {path} is not a signing key file: wrong kid or alg")
    return file


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
