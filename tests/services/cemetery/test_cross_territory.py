"""The cross-territory sweep of every route of the cemetery service: a commune's mayor, secretary and elected
member, an EPCI user and the department's administrator never see another commune's cemetery."""
from __future__ import annotations

import datetime as dt

from tests.helpers.cross_territory import check_routes

PREFIXES = ("/s/cemetery", "/api/v1/cemetery", "/p/cemetery", "/admin/s/cemetery")


def test_no_route_of_the_cemetery_shows_another_communes_data(app, cemetery_world, login_as):
    b = cemetery_world["b"]
    foreign = {"cemetery_id": b.cemetery, "plot_id": b.plot, "concession_id": b.concession, "person_id": b.holder,
               "reprise_id": 999999, "code": "notice", "kind": "unknown", "insee": b.insee,
               "deceased_id": b.deceased, "job_id": 999999}
    with app.test_request_context():
        from portal.extensions import db
        from portal.tenancy import territory_scope
        from services.cemetery import operations
        from services.cemetery.models import Plot

        with territory_scope({b.insee}):
            common = db.session.get(Plot, b.common)
            operations.record_operation("inhumation", common, dt.date(2015, 2, 3),
                                        new_deceased={"last_name": "Jaucourt-Secret-Commun"})
            reprise = operations.open_reprise(common, "common_ground", dt.date.today())
            db.session.commit()
            foreign["reprise_id"] = reprise.id
            from services.cemetery.models import RegisterJob

            job = RegisterJob(commune_insee=b.insee, kind="concessions", status="queued")
            db.session.add(job)
            db.session.commit()
            foreign["job_id"] = job.id
    from services.cemetery.tasks import build_register

    assert build_register(foreign["job_id"]) == "done"  # a register of B ready to download
    for role in ("mayor_a", "secretary_a", "elected_a", "epci_user", "dept_admin"):
        report = check_routes(login_as(role), app, foreign, ["Jaucourt-Secret", "JAUCOURT-SECRET"],
                              prefixes=PREFIXES)
        report.assert_clean()
