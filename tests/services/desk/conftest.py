"""Fixtures of the information desk tests: partner organisations with a publisher each, and news published in the
system context (as a task or the CLI would), addressed to any audience."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.helpers.partners import add_partner

PARTNERS = {"cdg": "Centre de gestion de l'Aube (essai)", "amf": "Association des maires de l'Aube (essai)"}


@pytest.fixture
def partners(app, world, password_hash):
    """Two partners, each with a publisher: ids ``partners.cdg`` / ``partners.amf``, users ``partner_cdg`` /
    ``partner_amf`` in ``world.users`` (so that ``login_as("partner_cdg")`` works)."""
    return SimpleNamespace(**{key: add_partner(app, world, password_hash, key, name) for key, name in PARTNERS.items()})


@pytest.fixture
def publish(app, world):
    """``publish("Titre", "all", publisher=world.dept, epci_id=…, service_slug=…, member_ids=…, body=…)`` → id."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import operations

    def _publish(title, kind="all", *, publisher=None, author="dept_admin", body="", pinned=False, **audience):
        with app.app_context():
            item = operations.publish_news(
                publisher=db.session.get(Collectivity, publisher or world.dept),
                author=db.session.get(User, world.users[author].id),
                audience=operations.AudienceChoice(kind=kind, **audience), title=title, body=body, pinned=pinned)
            db.session.commit()
            return item.id

    return _publish


@pytest.fixture
def category(app, world):
    """A forum category « État civil » added by the department; returns its id."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import forum_operations

    with app.app_context():
        cat = forum_operations.create_category("État civil", "Actes, livret de famille, mariages",
                                               by=db.session.get(User, world.users["dept_admin"].id),
                                               department=db.session.get(Collectivity, world.dept))
        db.session.commit()
        return cat.id


@pytest.fixture
def private_thread(app, world, category):
    """A thread addressed to Jaucourt alone (written in the system context), for the cross-territory sweep:
    (thread id, post id)."""
    from portal.audiences import new_audience
    from portal.extensions import db
    from services.desk.models import ForumPost, ForumThread

    with app.app_context():
        thread = ForumThread(category_id=category, title="Sujet-reserve-a-Jaucourt", publisher_id=world.dept,
                             audience=new_audience("list", member_ids=(world.b,)))
        db.session.add(thread)
        db.session.flush()
        post = ForumPost(thread_id=thread.id, collectivity_id=world.dept, body_html="<p>Corps-reserve-a-Jaucourt</p>")
        db.session.add(post)
        db.session.commit()
        return thread.id, post.id


# Documents library and fiches juridiques ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def desk_storage(app, tmp_path):
    """The library's files under the test's own folder (never the repository's instance/)."""
    saved = app.config.get("DESK_STORAGE_DIR")
    app.config["DESK_STORAGE_DIR"] = str(tmp_path / "desk-files")
    yield tmp_path / "desk-files"
    app.config["DESK_STORAGE_DIR"] = saved


@pytest.fixture
def library_doc(app, world):
    """``library_doc(owner_id, readers, title, data=…, filename=…, folder_name=…, author="dept_admin")`` →
    (folder id, document id): a folder of ``owner_id``'s library read by ``readers`` (own, epci_members, all) holding
    one document, written in the system context."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import library

    from .files import pdf

    def _make(owner_id, readers, title, *, data=None, filename="document.pdf", folder_name=None, author="dept_admin"):
        with app.app_context():
            owner = db.session.get(Collectivity, owner_id)
            by = db.session.get(User, world.users[author].id)
            folder = library.create_folder(owner, name=folder_name or f"Dossier {title}", readers=readers, by=by)
            checked = library.check_file(data if data is not None else pdf(f"{title} corps du texte"), filename,
                                         library.LIBRARY_KINDS)
            document = library.add_document(folder, title=title, category="deliberation", checked=checked, by=by)
            db.session.commit()
            return folder.id, document.id

    return _make


@pytest.fixture
def publish_sheet(app, world):
    """``publish_sheet("Titre", "all", publisher=…, author=…, body=…, refs=…, theme=…, **audience)`` → sheet id."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import library, operations

    def _publish(title, kind="all", *, publisher=None, author="dept_admin", body="<p>Texte de la fiche.</p>",
                 refs="Code civil, art. 63", theme="etat_civil", **audience):
        with app.app_context():
            sheet = library.publish_sheet(
                publisher=db.session.get(Collectivity, publisher or world.dept),
                author=db.session.get(User, world.users[author].id),
                audience=operations.AudienceChoice(kind=kind, **audience), theme=theme, title=title, body=body,
                legal_refs=refs)
            db.session.commit()
            return sheet.id

    return _publish
