"""EXPLAIN (ANALYZE, BUFFERS) of the commune's public page of acts, as the application role (row-level security).

Run after ``bench/actes.py`` on the same PostgreSQL database (it leaves the department year loaded: Ailleville,
INSEE 10002, 2 000 published acts); ``DATABASE_URL`` is the superuser URL given to the bench:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/actes_explain.py

Each statement is sent once through the ORM session (so with the portal's territory criterion, as the view sends
it), captured from the driver, then explained three times with the same parameters; the last plan is printed.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from portal.dbroles import use_roles_for

    if use_roles_for(os.environ.get("DATABASE_URL", "")) is None:  # points DATABASE_URL at the application role
        sys.exit("DATABASE_URL must be the PostgreSQL superuser URL given to bench/actes.py")
    tmp = Path(tempfile.mkdtemp(prefix="bench-actes-explain-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("INSTANCE_PATH", str(tmp))
    from sqlalchemy import event, select, text

    from portal import create_app
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.actes.views.public import public_statements

    app = create_app({"ACTES_STORAGE_DIR": str(tmp / "store")})
    cases = {"page 1": ("", None, None, 1), "page 40": ("", None, None, 40),
             "search « voirie » + dates": ("voirie", dt.date(2025, 1, 1), dt.date(2026, 12, 31), 1)}
    with app.app_context(), app.test_request_context():
        print("connected as", db.session.scalar(text("SELECT current_user")))
        coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == "10002"))
        with territory_scope({"10002"}):
            for label, (q, since, until, number) in cases.items():
                count, page_of = public_statements(coll, q, since, until)
                for name, stmt in (("count", count), ("page", page_of(number))):
                    seen = []

                    def grab(conn, cursor, statement, parameters, context, executemany, seen=seen):
                        seen.append((statement, parameters))

                    event.listen(db.engine, "before_cursor_execute", grab)
                    db.session.execute(stmt).all()
                    event.remove(db.engine, "before_cursor_execute", grab)
                    sql, params = [s for s in seen if "actes_act" in s[0]][-1]
                    conn = db.session.connection()
                    for _ in range(3):
                        plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
                    print(f"==== {label}: {name}\n{sql}\n{params}\n" + "\n".join(plan))
            db.session.rollback()


if __name__ == "__main__":
    main()
