"""The copy of the backups to an S3-compatible bucket (portal/ops/remote.py, boto3), against a real S3 peer on
loopback: moto's standalone server (``python -m moto.server``, an HTTP server speaking the S3 API) started as a
subprocess with its access-key checks on (``INITIAL_NO_AUTH_ACTION_COUNT``: the first calls create the IAM user, its
keys and the bucket; every call after is authenticated). Runs on SQLite, and on PostgreSQL when DATABASE_URL is set.

A backup lands in the bucket with its checksum, the retention removes the bucket's old archives, ``flask ops list``
shows them, and ``flask ops restore NAME`` brings one back from the bucket into an empty instance on a host that
lost its backup folder. Wrong keys, a missing bucket: a clear message, the local archive kept, the run recorded as
"copy failed" and the department's page saying so in French.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import using_postgres
from tests.portal.test_ops_backup import _files, _live_skip, target  # noqa: F401 - the empty instance fixture

BUCKET = "extranet-backups"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on loopback, with one IAM user allowed on s3:* and one bucket; yields its coordinates."""
    import boto3

    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4", AWS_DEFAULT_REGION="us-east-1")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto's S3 server exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto's S3 server is not listening after 60 s")
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        boot = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap",
                    aws_secret_access_key="bootstrap")
        iam = boto3.client("iam", **boot)
        iam.create_user(UserName="extranet-backup")
        key = iam.create_access_key(UserName="extranet-backup")["AccessKey"]
        iam.put_user_policy(UserName="extranet-backup", PolicyName="backups", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        boto3.client("s3", **boot).create_bucket(Bucket=BUCKET)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        yield {"endpoint": endpoint, "key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"],
               "client": client}
    finally:
        proc.terminate()
        proc.wait(10)


def _keys(s3, prefix: str) -> list[str]:
    listing = s3["client"].list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _configure(app, monkeypatch, s3, tmp_path, prefix: str, **over):
    conf = {"BACKUP_DIR": str(tmp_path / "backups"), "BACKUP_COPY_DIR": "", "BACKUP_S3_BUCKET": BUCKET,
            "BACKUP_S3_ENDPOINT_URL": s3["endpoint"], "BACKUP_S3_PREFIX": prefix, "BACKUP_S3_REGION": "us-east-1",
            "BACKUP_S3_ACCESS_KEY_ID": s3["key_id"], "BACKUP_S3_SECRET_ACCESS_KEY": s3["secret"], **over}
    for k, v in conf.items():
        monkeypatch.setitem(app.config, k, v)
    return conf


def test_backup_goes_to_the_bucket_with_retention_and_comes_back_from_it(app, world, s3, tmp_path, monkeypatch,
                                                                         target):  # noqa: F811
    from portal import create_app

    prefix = f"run-{os.getpid()}-{time.monotonic_ns()}/"
    conf = _configure(app, monkeypatch, s3, tmp_path, prefix, BACKUP_KEEP_DAILY=2, BACKUP_KEEP_WEEKLY=0,
                      BACKUP_KEEP_MONTHLY=0, ELECTORAL_PRINT_DIR=str(tmp_path / "prints"))
    (tmp_path / "prints").mkdir()
    (tmp_path / "prints" / "emargement.pdf").write_bytes(b"%PDF-1.7 fictitious print run\n" * 20)
    # Older archives already in the bucket (earlier nights), and an object that is not an archive.
    old = ["extranet-20200101T023000Z.tar.gz", "extranet-20200102T023000Z.tar.gz"]
    for name in old:
        s3["client"].put_object(Bucket=BUCKET, Key=prefix + name, Body=b"an older night")
    s3["client"].put_object(Bucket=BUCKET, Key=prefix + "README.txt", Body=b"not an archive")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["ops", "backup"])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "backups").glob("extranet-*.tar.gz"))
    assert f"Copied to s3://{BUCKET}/{prefix}{archive.name}." in result.output
    # Retention (2 days) applied in the bucket too: the oldest night went, the other stayed; other objects untouched.
    assert _keys(s3, prefix) == sorted([prefix + "README.txt", prefix + old[1], prefix + archive.name])
    assert f"Removed by the retention: s3://{BUCKET}/{prefix}{old[0]}." in result.output
    stored = s3["client"].get_object(Bucket=BUCKET, Key=prefix + archive.name)
    assert stored["Body"].read() == archive.read_bytes()
    from portal.ops.backup import sha256_file

    assert stored["Metadata"]["sha256"] == sha256_file(archive)

    listing = runner.invoke(args=["ops", "list"])
    assert listing.exit_code == 0, listing.output
    assert f"s3://{BUCKET}/{prefix} at {s3['endpoint']}:" in listing.output
    assert listing.output.count(archive.name) == 2 and old[1] in listing.output

    original_files = _files(Path(app.instance_path), _live_skip(app) | {tmp_path / "backups"})

    # A new host: its backup folder is empty, the archive comes from the bucket by its name.
    over = {k: v for k, v in conf.items() if k.startswith("BACKUP_S3_")}
    restored = create_app({"TESTING": True, "EXTRA_SERVICES": ["tests.portal.sample_service:service"], **target,
                           **over, "ELECTORAL_PRINT_DIR": str(tmp_path / "restored-prints")})
    done = restored.test_cli_runner().invoke(args=["ops", "restore", archive.name])
    assert done.exit_code == 0, done.output
    assert f"Fetched {archive.name}" in done.output and "Restored" in done.output
    inst = Path(target["INSTANCE_PATH"])
    assert _files(inst, {inst / "extranet.sqlite3", Path(target["BACKUP_DIR"])}) == original_files
    assert (tmp_path / "restored-prints" / "emargement.pdf").read_bytes() == \
        (tmp_path / "prints" / "emargement.pdf").read_bytes()
    with restored.app_context():
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()

    # Verify by its s3:// address; an archive of that name absent everywhere is said so.
    checked = runner.invoke(args=["ops", "verify", f"s3://{BUCKET}/{prefix}{archive.name}"]) \
        if not using_postgres() else None
    if checked is not None:
        assert checked.exit_code == 0, checked.output
        assert "Archive verified" in checked.output
    missing = restored.test_cli_runner().invoke(args=["ops", "restore", "extranet-19990101T000000Z.tar.gz"])
    assert missing.exit_code != 0
    assert "no such archive here nor in" in missing.output and f"s3://{BUCKET}/{prefix}" in missing.output


def test_a_tampered_copy_in_the_bucket_is_refused(app, world, s3, tmp_path, monkeypatch):
    prefix = f"tamper-{time.monotonic_ns()}/"
    _configure(app, monkeypatch, s3, tmp_path, prefix)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ops", "backup"]).exit_code == 0
    archive = next((tmp_path / "backups").glob("extranet-*.tar.gz"))
    head = s3["client"].head_object(Bucket=BUCKET, Key=prefix + archive.name)
    s3["client"].put_object(Bucket=BUCKET, Key=prefix + archive.name, Body=archive.read_bytes()[:-100],
                            Metadata=head["Metadata"])  # cut short, same announced checksum
    archive.unlink()
    result = runner.invoke(args=["ops", "verify", archive.name])
    assert result.exit_code != 0
    assert "does not match the checksum it was stored with" in result.output


@pytest.mark.parametrize("case", ["wrong keys", "missing bucket"])
def test_refused_copy_keeps_the_local_archive_and_says_why(app, world, s3, tmp_path, monkeypatch, login_as, case):
    from portal.extensions import db
    from portal.ops.models import BackupRun

    over = {"BACKUP_S3_SECRET_ACCESS_KEY": "not-the-secret"} if case == "wrong keys" \
        else {"BACKUP_S3_BUCKET": "no-such-bucket-here"}
    _configure(app, monkeypatch, s3, tmp_path, "refused/", BACKUP_COPY_DIR=str(tmp_path / "second-disk"), **over)
    result = app.test_cli_runner().invoke(args=["ops", "backup"])
    assert result.exit_code != 0
    expected = "the S3 keys are refused (403)" if case == "wrong keys" else \
        "the bucket 'no-such-bucket-here' does not exist there"
    assert "the archive is kept here, but its copy failed" in result.output and expected in result.output
    archives = list((tmp_path / "backups").glob("extranet-*.tar.gz"))
    assert len(archives) == 1  # kept
    assert (tmp_path / "second-disk" / archives[0].name).read_bytes() == archives[0].read_bytes()  # other copy made
    with app.app_context():
        run = db.session.query(BackupRun).order_by(BackupRun.id.desc()).first()
        assert (run.status, run.archive) == ("copy_failed", archives[0].name)
        assert expected in run.error
        from portal.ops.health import check_backup

        check = check_backup()
        assert check["status"] == "warning" and check["archive"] == archives[0].name
        assert expected in check["copy_error"]

    # The department's page says it in French.
    page = login_as("dept_admin", world.dept).get("/admin/exploitation")
    assert page.status_code == 200
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert "Faite ici, copie échouée" in html
    assert ("le stockage a refusé les clés" if case == "wrong keys" else
            "le compartiment n'existe pas sur ce stockage") in html
