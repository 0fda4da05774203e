"""Deposit numbers under concurrency: companies depositing at the same moment each get their own number, none lost."""
from __future__ import annotations

import datetime as dt
import threading

from .conftest import real_pdf
from .test_bids import _company, _deadline_utc

COMPANIES = 8


def test_concurrent_deposits_get_distinct_numbers_and_none_is_lost(app, published):
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.companies import Company
    from services.tenders.models import Tender

    _mayor, tid = published
    ids = [_company(app, email=f"offres-{n}@entreprise.test.example.org") for n in range(COMPANIES)]
    at = _deadline_utc(app, tid) - dt.timedelta(seconds=30)
    with app.app_context():  # the consultation's key pair exists before the rush (made by an earlier deposit)
        deposits.consultation_key(db.session.get(Tender, tid))
        db.session.commit()
    start = threading.Barrier(COMPANIES)
    errors: list[BaseException] = []

    def deposit(company_id: int) -> None:
        with app.app_context():
            try:
                t, c = db.session.get(Tender, tid), db.session.get(Company, company_id)
                files = [("offre", "offre.pdf", real_pdf(f"offre {company_id}"))]
                start.wait(timeout=30)
                deposits.deposit(t, c, files, at=at)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deposit, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        bids = deposits.register_of(db.session.get(Tender, tid))
        assert sorted(b.number for b in bids) == list(range(1, COMPANIES + 1))
        assert sorted(b.company_id for b in bids) == sorted(ids)
        assert all(len(b.files) == 1 for b in bids)


def test_the_database_refuses_two_deposits_with_the_same_number(app, published):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from portal.extensions import db
    from services.tenders.deposits import Bid

    _mayor, tid = published
    a, b = _company(app, email="a@x.test.example.org"), _company(app, email="b@x.test.example.org")
    with app.app_context():
        db.session.add(Bid(tender_id=tid, company_id=a, number=1, received_at=dt.datetime(2026, 1, 1)))
        db.session.add(Bid(tender_id=tid, company_id=b, number=1, received_at=dt.datetime(2026, 1, 1)))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
