"""portal.outbox's plain callbacks: work outside the database (files beside a row) that follows the transaction."""
from __future__ import annotations

from sqlalchemy import text


def test_after_commit_and_after_rollback_callbacks_follow_the_fate_of_the_transaction(app):
    from portal.extensions import db
    from portal.outbox import after_commit, after_rollback

    seen = []
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit(lambda: seen.append("committed"))
        after_rollback(lambda: seen.append("rolled back"))
        db.session.commit()
        assert seen == ["committed"]  # the rollback callback of a committed transaction is forgotten
        db.session.commit()
        assert seen == ["committed"]  # and each callback runs once

        db.session.execute(text("SELECT 1"))
        after_commit(lambda: seen.append("committed again"))
        after_rollback(lambda: seen.append("rolled back"))
        db.session.rollback()
        db.session.commit()
        assert seen == ["committed", "rolled back"]


def test_a_savepoint_rollback_keeps_the_callbacks_of_the_outer_transaction(app):
    from portal.extensions import db
    from portal.outbox import after_commit, after_rollback

    seen = []
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit(lambda: seen.append("committed"))
        after_rollback(lambda: seen.append("rolled back"))
        with db.session.begin_nested() as savepoint:
            savepoint.rollback()
        assert seen == []
        db.session.commit()
        assert seen == ["committed"]


def test_a_failing_callback_is_logged_and_the_others_still_run(app, caplog):
    from portal.extensions import db
    from portal.outbox import after_commit

    seen = []
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit(lambda: 1 / 0)
        after_commit(lambda: seen.append("second"))
        db.session.commit()
    assert seen == ["second"]
    assert "failed" in caplog.text
