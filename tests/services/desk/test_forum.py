"""The forum as people use it: a secretary asks, the department and a partner answer, the follower gets an e-mail
(real SMTP), the asker marks the solution; reports and the department's moderation; everything audited."""
from __future__ import annotations

import re

from sqlalchemy import select

from .test_news import DANGEROUS, XSS


def ask(client, category, title="Publication des bans", body="<p>Où afficher les bans&nbsp;?</p>"):
    resp = client.post(f"/s/desk/forum/{category}/nouveau", {"title": title, "body": body},
                       csrf_from=f"/s/desk/forum/{category}/nouveau")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def answer(client, thread_id, body):
    return client.post(f"/s/desk/forum/sujets/{thread_id}/repondre", {"body": body},
                       csrf_from=f"/s/desk/forum/sujets/{thread_id}")


def test_a_secretary_asks_the_department_answers_and_the_answer_is_the_solution(app, world, smtp, partners,
                                                                               category, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.desk.models import ForumThread

    secretary = login_as("secretary_ab", world.b)
    thread_id = ask(secretary, category)
    smtp.messages.clear()
    admin = login_as("dept_admin")
    assert answer(admin, thread_id, "<p>Sur le panneau de la mairie, dix jours avant.</p>").status_code == 302
    mails = [m for m in smtp.messages if world.users["secretary_ab"].email in m.to]
    assert len(mails) == 1 and "dix jours avant" in mails[0].text
    assert f"/s/desk/forum/sujets/{thread_id}" in mails[0].text
    assert answer(login_as("partner_amf"), thread_id, "<p>Voir aussi notre fiche.</p>").status_code == 302
    page = login_as("mayor_troyes").get(f"/s/desk/forum/sujets/{thread_id}").get_data(as_text=True)
    assert "dix jours avant" in page and "Voir aussi notre fiche" in page  # every member reads the forum
    first_answer = int(re.findall(r'id="message-(\d+)"', page)[1])
    other = login_as("mayor_troyes")
    assert other.post(f"/s/desk/forum/sujets/{thread_id}/messages/{first_answer}/solution", {}).status_code == 403
    assert secretary.post(f"/s/desk/forum/sujets/{thread_id}/messages/{first_answer}/solution", {}).status_code == 302
    with app.app_context():
        assert db.session.get(ForumThread, thread_id).solution_post_id == first_answer
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("desk.forum%"))))
    assert {"desk.forum_thread_created", "desk.forum_answered", "desk.forum_solution"} <= actions


def test_following_is_optional_and_the_author_is_not_told_of_their_own_answer(world, smtp, category, login_as):
    mayor = login_as("mayor_a")
    thread_id = ask(mayor, category)
    assert mayor.post(f"/s/desk/forum/sujets/{thread_id}/suivre", {"follow": "0"}).status_code == 302
    smtp.messages.clear()
    answer(login_as("dept_admin"), thread_id, "<p>Réponse</p>")
    answer(mayor, thread_id, "<p>Merci</p>")
    assert not smtp.messages


def test_forum_messages_are_sanitised(world, category, login_as):
    thread_id = ask(login_as("mayor_a"), category, body="<p>Question <em>urgente</em></p>" + "".join(XSS.values()))
    page = login_as("mayor_b").get(f"/s/desk/forum/sujets/{thread_id}").get_data(as_text=True)
    body = page[page.index("news-body"):]
    body = body[:body.index("</div>")]
    assert "<em>urgente</em>" in body and not DANGEROUS.search(body)


def test_report_and_moderation_by_the_department(app, world, category, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.desk import forum_operations
    from portal.models import Collectivity, User

    mayor = login_as("mayor_a")
    thread_id = ask(mayor, category, title="Sujet-a-moderer")
    answer(login_as("mayor_b"), thread_id, "<p>Message-deplace</p>")
    page = mayor.get(f"/s/desk/forum/sujets/{thread_id}").get_data(as_text=True)
    post_id = int(re.findall(r'id="message-(\d+)"', page)[1])
    assert mayor.post(f"/s/desk/forum/sujets/{thread_id}/messages/{post_id}/signaler",
                      {"reason": "Propos hors sujet"}).status_code == 302
    admin = login_as("dept_admin")
    assert "Propos hors sujet" in admin.get("/admin/s/desk/forum").get_data(as_text=True)
    # members cannot moderate
    assert mayor.post(f"/s/desk/forum/sujets/{thread_id}/moderer", {"action": "lock"}).status_code == 403
    assert admin.post(f"/s/desk/forum/sujets/{thread_id}/messages/{post_id}/masquer", {"hide": "1"}).status_code == 302
    assert "Message-deplace" not in mayor.get(f"/s/desk/forum/sujets/{thread_id}").get_data(as_text=True)
    assert "Propos hors sujet" not in admin.get("/admin/s/desk/forum").get_data(as_text=True)  # resolved
    assert admin.post(f"/s/desk/forum/sujets/{thread_id}/moderer", {"action": "lock"},
                      csrf_from=f"/s/desk/forum/sujets/{thread_id}").status_code == 302
    answer(mayor, thread_id, "<p>Encore-une-reponse</p>")
    assert "Encore-une-reponse" not in mayor.get(f"/s/desk/forum/sujets/{thread_id}").get_data(as_text=True)
    with app.app_context():
        other = forum_operations.create_category("Urbanisme", "", by=db.session.get(User, world.users["dept_admin"].id),
                                                 department=db.session.get(Collectivity, world.dept))
        db.session.commit()
        other_id = other.id
    assert admin.post(f"/s/desk/forum/sujets/{thread_id}/moderer", {"action": "move", "category": str(other_id)},
                      csrf_from=f"/s/desk/forum/sujets/{thread_id}").status_code == 302
    assert "Sujet-a-moderer" in mayor.get(f"/s/desk/forum/{other_id}").get_data(as_text=True)
    assert admin.post(f"/s/desk/forum/sujets/{thread_id}/moderer", {"action": "hide"},
                      csrf_from=f"/s/desk/forum/sujets/{thread_id}").status_code == 302
    assert mayor.get(f"/s/desk/forum/sujets/{thread_id}").status_code == 404
    assert admin.get(f"/s/desk/forum/sujets/{thread_id}").status_code == 200
    with app.app_context():
        moderations = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "desk.forum_moderated")).all()
        assert {e.details["action_taken"] for e in moderations} == {"hide_post", "lock", "move", "hide"}
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "desk.forum_reported"))
