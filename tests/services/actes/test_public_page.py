"""The commune's public page of acts: 50 a page (newest publications first), a search by objet or number and by
decision date, bad dates answered in French, individual acts never listed."""
from __future__ import annotations

import datetime as dt
import html
import re


def _published(app, collectivity_id, insee, count, *, start=dt.date(2026, 1, 1)):
    """``count`` acknowledged acts published one a day from ``start`` (every fifth one individual)."""
    from sqlalchemy import insert

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    rows = []
    for i in range(count):
        day = start + dt.timedelta(days=i)
        individual = i % 5 == 4
        rows.append({"collectivity_id": collectivity_id, "commune_insee": insee, "nature": 3 if individual else 1,
                     "matiere": "7.1", "number": f"P{i:03d}", "decision_date": day,
                     "subject": ("Nomination secrete" if individual else
                                 ("Tarifs de la cantine" if i % 7 == 0 else "Travaux de voirie")) + f" n° {i}",
                     "publication_kind": "individual" if individual else "other", "status": "acknowledged",
                     "status_reason": "", "paper_annexes": False, "poll_failures": 0, "signer_name": "",
                     "received_on": day, "published_at": None if individual else dt.datetime.combine(day, dt.time(9)),
                     "created_at": dt.datetime.now(), "updated_at": dt.datetime.now()})
    with app.app_context(), territory_scope(None):
        db.session.execute(insert(Act), rows)
        db.session.commit()


def _numbers(body: str) -> list[str]:
    return re.findall(r'<span class="hint">(P\d{3})</span>', body)


def test_paging_newest_first_and_never_an_individual_act(app, actes_world, client):
    _published(app, actes_world.a, actes_world.insee_a, 150)  # 120 published, 30 individual
    url = f"/p/actes/{actes_world.insee_a}/"
    first = html.unescape(client.get(url).get_data(as_text=True))
    assert "120 actes publiés" in first and "Page 1 sur 3" in first
    assert _numbers(first)[:2] == ["P148", "P147"]  # P149 is individual
    assert len(_numbers(first)) == 50 and "Nomination" not in first
    seen = []
    for n in (1, 2, 3):
        seen += _numbers(client.get(f"{url}?page={n}").get_data(as_text=True))
    assert len(seen) == len(set(seen)) == 120
    assert client.get(f"{url}?page=99").status_code in (200, 404)
    assert client.get(f"{url}?page=abc").status_code == 200


def test_search_by_objet_number_and_dates(app, actes_world, client):
    _published(app, actes_world.a, actes_world.insee_a, 150)
    url = f"/p/actes/{actes_world.insee_a}/"
    body = html.unescape(client.get(url, query_string={"q": "CANTINE"}).get_data(as_text=True))
    found = _numbers(body)
    assert found and all(int(n[1:]) % 7 == 0 and int(n[1:]) % 5 != 4 for n in found)
    assert f"{len(found)} actes trouvés" in body
    assert _numbers(client.get(url, query_string={"q": "P012"}).get_data(as_text=True)) == ["P012"]
    # « _ » and « % » are searched as themselves, not as wildcards.
    assert _numbers(client.get(url, query_string={"q": "P_1"}).get_data(as_text=True)) == []
    body = client.get(url, query_string={"du": "2026-01-10", "au": "15/01/2026"}).get_data(as_text=True)
    assert sorted(_numbers(body)) == ["P010", "P011", "P012", "P013"]  # P009 and P014 are individual
    body = html.unescape(client.get(url, query_string={"q": "Nomination"}).get_data(as_text=True))
    assert _numbers(body) == [] and "Aucun acte publié ne correspond" in body


def test_bad_dates_get_a_french_message_not_an_error(app, actes_world, client):
    _published(app, actes_world.a, actes_world.insee_a, 10)
    url = f"/p/actes/{actes_world.insee_a}/"
    resp = client.get(url, query_string={"du": "hier"})
    assert resp.status_code == 200
    assert "« hier » n'est pas une date" in html.unescape(resp.get_data(as_text=True)).replace("\xa0", " ")
    resp = client.get(url, query_string={"du": "2026-03-01", "au": "2026-01-01"})
    assert "La première date est postérieure à la seconde" in html.unescape(resp.get_data(as_text=True))
