"""Copies of the backup archives off this host: a second folder (``BACKUP_COPY_DIR``) and an S3-compatible bucket
(``BACKUP_S3_*``: AWS, OVHcloud, Scaleway, Outscale, MinIO, Garage, Ceph…), through boto3.

Each destination receives every new archive (checked once written: size and SHA-256 for the folder, size and the
SHA-256 carried as the object's metadata ``sha256`` for the bucket), has the same retention as ``BACKUP_DIR`` applied,
can list its archives and give one back (:func:`fetch`) for ``flask ops restore``/``verify`` on a host that lost its
disk. A destination that refuses (wrong keys, missing bucket, unreachable endpoint) raises :class:`RemoteError` with
an English message saying which; the local archive is kept whatever happens here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


class RemoteError(Exception):
    """A copy destination that cannot be written or read. ``kind`` says why, for the French message of the pages:
    ``credentials``, ``bucket``, ``unreachable``, ``mismatch`` or ``other``."""

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


@dataclass
class RemoteArchive:
    name: str
    stamp: dt.datetime
    size: int
    where: str  # a path, or s3://bucket/key


def _config(key: str):
    return current_app.config.get(key)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp(name: str) -> dt.datetime | None:
    from .backup import ARCHIVE_RE

    m = ARCHIVE_RE.match(name)
    return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ") if m else None


def _to_remove(archives: list[RemoteArchive]) -> list[RemoteArchive]:
    from .backup import kept

    keep = kept(sorted({a.stamp for a in archives}, reverse=True), int(_config("BACKUP_KEEP_DAILY") or 0),
                int(_config("BACKUP_KEEP_WEEKLY") or 0), int(_config("BACKUP_KEEP_MONTHLY") or 0))
    return [a for a in archives if a.stamp not in keep]


# ------------------------------------------------------------------------------------------------------ second folder

class FolderCopy:
    label = "folder"

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    def put(self, archive: Path, digest: str) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{archive.name}.tmp"
            shutil.copyfile(archive, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        except OSError as exc:
            raise RemoteError(f"cannot write the copy in {self.folder}: {exc}", "unreachable") from exc
        if _sha256(tmp) != digest:
            tmp.unlink(missing_ok=True)
            raise RemoteError(f"the copy of {archive.name} in {self.folder} does not match the archive", "mismatch")
        target = self.folder / archive.name
        os.replace(tmp, target)
        return str(target)

    def list(self) -> list[RemoteArchive]:
        out = []
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                stamp = _stamp(path.name)
                if stamp:
                    out.append(RemoteArchive(path.name, stamp, path.stat().st_size, str(path)))
        return sorted(out, key=lambda a: a.stamp, reverse=True)

    def retention(self) -> list[str]:
        removed = []
        for a in _to_remove(self.list()):
            Path(a.where).unlink(missing_ok=True)
            removed.append(a.where)
        return removed

    def fetch(self, name: str, dest: Path) -> Path | None:
        path = self.folder / name
        if not path.is_file():
            return None
        shutil.copyfile(path, dest)
        return dest


# -------------------------------------------------------------------------------------------------------- S3 bucket

class S3Copy:
    label = "S3"

    def __init__(self, bucket: str, endpoint: str = "", prefix: str = "", region: str = "", access_key: str = "",
                 secret_key: str = ""):
        self.bucket, self.endpoint = bucket, endpoint or None
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.region, self.access_key, self.secret_key = region or "us-east-1", access_key, secret_key
        self._client = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            cfg = Config(connect_timeout=10, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"},
                         s3={"addressing_style": "path" if self.endpoint else "auto"})
            kwargs = {}
            if self.access_key or self.secret_key:  # else boto3's own chain (AWS_* variables, instance profile)
                kwargs = {"aws_access_key_id": self.access_key, "aws_secret_access_key": self.secret_key}
            self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint,
                                                          region_name=self.region, config=cfg, **kwargs)
        return self._client

    def _error(self, exc: Exception, doing: str) -> RemoteError:
        from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                         ParamValidationError)

        where = self.describe()
        if isinstance(exc, NoCredentialsError):
            return RemoteError(f"{doing} {where}: no S3 keys (set BACKUP_S3_ACCESS_KEY_ID and "
                               "BACKUP_S3_SECRET_ACCESS_KEY)", "credentials")
        if isinstance(exc, EndpointConnectionError):
            return RemoteError(f"{doing} {where}: the endpoint cannot be reached ({exc})", "unreachable")
        if isinstance(exc, ParamValidationError):
            return RemoteError(f"{doing} {where}: {exc} (check BACKUP_S3_BUCKET)", "bucket")
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchBucket", "404", "NotFound", "InvalidBucketName"}:
                return RemoteError(f"{doing} {where}: the bucket {self.bucket!r} does not exist there ({code}); "
                                   "create it or fix BACKUP_S3_BUCKET", "bucket")
            if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden",
                        "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed"}:
                return RemoteError(f"{doing} {where}: the S3 keys are refused ({code}): check "
                                   "BACKUP_S3_ACCESS_KEY_ID/BACKUP_S3_SECRET_ACCESS_KEY and their rights on the "
                                   "bucket", "credentials")
            return RemoteError(f"{doing} {where}: {code or exc}", "other")
        if isinstance(exc, BotoCoreError):
            return RemoteError(f"{doing} {where}: {exc}", "unreachable")
        return RemoteError(f"{doing} {where}: {exc}", "other")

    def _call(self, doing: str, fn, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, doing) from exc

    def put(self, archive: Path, digest: str) -> str:
        key = self.prefix + archive.name
        size = archive.stat().st_size
        self._call("cannot copy the archive to", self.client.head_bucket, Bucket=self.bucket)
        self._call("cannot copy the archive to", self.client.upload_file, str(archive), self.bucket, key,
                   ExtraArgs={"Metadata": {"sha256": digest}})
        head = self._call("cannot check the copy in", self.client.head_object, Bucket=self.bucket, Key=key)
        if head.get("ContentLength") != size or head.get("Metadata", {}).get("sha256") != digest:
            raise RemoteError(f"the copy of {archive.name} in {self.describe()} does not match the archive "
                              f"({head.get('ContentLength')} bytes for {size})", "mismatch")
        return f"s3://{self.bucket}/{key}"

    def list(self) -> list[RemoteArchive]:
        out = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call("cannot list", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix)))
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                stamp = _stamp(name) if "/" not in name else None
                if stamp:
                    out.append(RemoteArchive(name, stamp, obj["Size"], f"s3://{self.bucket}/{obj['Key']}"))
        return sorted(out, key=lambda a: a.stamp, reverse=True)

    def retention(self) -> list[str]:
        gone = _to_remove(self.list())
        for start in range(0, len(gone), 1000):
            batch = gone[start:start + 1000]
            self._call("cannot apply the retention in", self.client.delete_objects, Bucket=self.bucket,
                       Delete={"Objects": [{"Key": self.prefix + a.name} for a in batch], "Quiet": True})
        return [a.where for a in gone]

    def fetch(self, name: str, dest: Path) -> Path | None:
        from botocore.exceptions import ClientError

        key = self.prefix + name
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._error(exc, f"cannot read {name} in") from exc
        self._call(f"cannot download {name} from", self.client.download_file, self.bucket, key, str(dest))
        expected = head.get("Metadata", {}).get("sha256")
        if expected and _sha256(dest) != expected:
            dest.unlink(missing_ok=True)
            raise RemoteError(f"{name} downloaded from {self.describe()} does not match the checksum it was stored "
                              "with: take another archive", "mismatch")
        return dest


def destinations() -> list:
    """The copy destinations configured: the second folder, then the bucket."""
    out = []
    if _config("BACKUP_COPY_DIR"):
        out.append(FolderCopy(_config("BACKUP_COPY_DIR")))
    if _config("BACKUP_S3_BUCKET"):
        out.append(S3Copy(_config("BACKUP_S3_BUCKET"), _config("BACKUP_S3_ENDPOINT_URL") or "",
                          _config("BACKUP_S3_PREFIX") or "", _config("BACKUP_S3_REGION") or "",
                          _config("BACKUP_S3_ACCESS_KEY_ID") or "", _config("BACKUP_S3_SECRET_ACCESS_KEY") or ""))
    return out


def copy_everywhere(archive: Path, digest: str) -> tuple[list[str], list[str], list[RemoteError]]:
    """Copy ``archive`` to every destination and apply the retention there: (copies, removed, errors). One
    destination failing does not stop the others."""
    copies, removed, errors = [], [], []
    for dest in destinations():
        try:
            copies.append(dest.put(archive, digest))
            removed += dest.retention()
        except RemoteError as exc:
            log.error("backup copy to %s failed: %s", dest.describe(), exc)
            errors.append(exc)
    return copies, removed, errors


def fetch(name: str, dest_dir: Path) -> Path:
    """Bring archive ``name`` (a file name, or ``s3://bucket/prefix/name``) from the first destination holding it."""
    if name.startswith("s3://"):
        name = name.rsplit("/", 1)[-1]
    if not _stamp(name):
        raise RemoteError(f"{name!r} is not the name of a backup archive (extranet-YYYYMMDDTHHMMSSZ.tar.gz[.age])")
    searched = []
    for dest in destinations():
        got = dest.fetch(name, dest_dir / name)
        if got is not None:
            log.info("archive %s fetched from %s", name, dest.describe())
            return got
        searched.append(dest.describe())
    raise RemoteError(f"{name}: no such archive here nor in " + (", ".join(searched) or "any copy destination "
                      "(BACKUP_COPY_DIR, BACKUP_S3_BUCKET are not set)"))
