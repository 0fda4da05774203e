"""Browser walk of the legality control: the secretary of Ailleville records the séance of the council (members,
proxy, secretary of séance), deposits a délibération in it with its vote (first refused by the pre-flight checks
with their named messages) and gives the visa, the mayor signs it (PAdES) and sends it to the préfecture through the
loopback S²LOW (TLS, client certificate), the AR arrives, and the act is on the commune's public page as its stamped
PDF; the home page's panel asks for the liste des délibérations, the secretary publishes it and it is on the public
page too; the department's page shows the certificate to renew."""
from __future__ import annotations

import datetime as dt
import subprocess

from playwright.sync_api import expect

from tests.helpers.clock import legal_today
from tests.services.actes.conftest import actes_world, tdt, tdt_server  # noqa: F401 - fixtures
from tests.services.actes.fixtures import acknowledgement, make_pdf, make_png
from tests.services.actes.test_signature import pkcs12


def _attach_files(page) -> None:
    """The act and a plan, chosen again as a person does after a refusal (browsers never keep chosen files)."""
    page.locator("#act").set_input_files(files=[{"name": "deliberation.pdf", "mimeType": "application/pdf",
                                                  "buffer": make_pdf("Deliberation n 2026_014 : budget primitif")}])
    page.locator("#annexes").set_input_files(files=[{"name": "plan.png", "mimeType": "image/png",
                                                      "buffer": make_png()}])


def _poll(app):
    from portal.models import utcnow
    from portal.tenancy import territory_scope
    from services.actes import transmission

    with app.app_context(), territory_scope(None):
        transmission.poll_due(now=utcnow() + dt.timedelta(days=1))


def test_secretary_deposits_mayor_sends_ar_arrives_act_is_published(app, world, actes_world, tdt, page, new_page,
                                                                    sign_in, shot, overflow):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/actes/seances/nouvelle")
    page.locator("#held_on").fill(legal_today().isoformat())
    page.locator("#held_at").fill("20:30")
    page.locator("#members_in_office").fill("11")
    page.locator("#present").fill("Marie Curie\nJean Jaurès\nLouise Michel\nVictor Hugo\nGeorge Sand\nPaul Éluard")
    page.locator("#represented").fill("Émile Zola → Victor Hugo")
    page.locator("#absent").fill("Olympe de Gouges")
    page.locator("#secretary").fill("Louise Michel")
    shot(page, "actes-seance-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la séance").click()
    expect(page.locator("#list-deadline")).to_contain_text("À publier au plus tard le")
    seance_url = page.url
    with page.expect_navigation():
        page.get_by_role("link", name="Déposer une délibération de cette séance").click()
    expect(page.locator("#seance_id")).to_have_value(seance_url.rsplit("/", 1)[1])
    page.locator("#deposit-vote-for").fill("6")
    page.locator("#deposit-vote-against").fill("0")
    page.locator("#deposit-vote-abstentions").fill("1")
    tomorrow = legal_today() + dt.timedelta(days=1)
    page.locator("#nature").select_option("1")
    page.locator("#matiere").fill("7.1")
    page.locator("#number").fill("2026-14")
    page.locator("#decision_date").fill(tomorrow.isoformat())
    page.locator("#subject").fill("Vote du budget primitif 2026 de la commune")
    _attach_files(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Vérifier et enregistrer comme brouillon").click()
    alert = page.locator("#preflight-errors")
    expect(alert).to_contain_text("Numéro\u00a0: de 1 à 15 caractères")
    expect(alert).to_contain_text("est dans le futur")
    shot(page, "actes-deposit-refused")
    assert overflow(page) == 0
    page.locator("#number").fill("2026_014")
    page.locator("#decision_date").fill(legal_today().isoformat())
    _attach_files(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Vérifier et enregistrer comme brouillon").click()
    expect(page.locator("#act-status")).to_have_text("brouillon")
    expect(page.locator("#act-vote")).to_contain_text("6 pour, 0 contre, 1 abstentions — adoptée")
    expect(page.get_by_role("button", name="Transmettre à la préfecture")).to_have_count(0)  # secretary: no send
    with page.expect_navigation():
        page.get_by_role("button", name="Viser").click()
    expect(page.locator("#signature-state")).to_contain_text("en attente de signature")
    act_url = page.url

    mayor = new_page()
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto(act_url)
    mayor.locator("#certificate").set_input_files(files=[{"name": "maire.p12", "mimeType": "application/x-pkcs12",
                                                           "buffer": pkcs12("phrase du maire")}])
    mayor.locator("#passphrase").fill("phrase du maire")
    shot(mayor, "actes-detail-to-sign")
    with mayor.expect_navigation():
        mayor.get_by_role("button", name="Signer l'acte").click()
    expect(mayor.locator("#signature-state")).to_contain_text("Maire d'Ailleville")
    with mayor.expect_navigation():
        mayor.get_by_role("button", name="Transmettre à la préfecture").click()
    expect(mayor.locator("#act-status")).to_have_text("posté")
    [(tx_id, tx)] = tdt.transactions.items()
    day = legal_today()
    unique_id = f"010-211000013-{day:%Y%m%d}-2026_014-DE"
    tx["status"], tx["ar"] = 4, acknowledgement(unique_id, "2026_014", day.isoformat(), 1, day)
    _poll(app)
    mayor.reload()
    expect(mayor.locator("#act-status")).to_have_text("acquittement reçu")
    expect(mayor.locator("#unique-id")).to_have_text(unique_id)
    shot(mayor, "actes-detail-acknowledged")

    resident = new_page(viewport={"width": 390, "height": 800})
    resident.goto(f"/p/actes/{world.insee_a}/")
    expect(resident.locator("main")).to_contain_text("Vote du budget primitif 2026 de la commune")
    shot(resident, "actes-public-phone")
    assert overflow(resident) == 0
    href = resident.get_by_role("link", name="Vote du budget primitif 2026 de la commune").get_attribute("href")
    answer = resident.request.get(href)
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    pdf = answer.body()
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert f"Acte certifié exécutoire — reçu en préfecture le {day:%d/%m/%Y}, publié le {day:%d/%m/%Y}" in text

    # The home page's panel asks for the liste des délibérations; the secretary publishes it from the séance.
    page.goto("/")
    panel = page.locator("#actes-panel")
    expect(panel).to_contain_text("Listes des délibérations à publier")
    shot(page, "actes-home-panel")
    with page.expect_navigation():
        panel.get_by_role("link", name=f"séance du {day:%d/%m/%Y}").click()
    expect(page.locator("#seance-items")).to_contain_text("Vote du budget primitif 2026 de la commune")
    shot(page, "actes-seance")
    with page.expect_navigation():
        page.get_by_role("button", name="Publier la liste des délibérations").click()
    expect(page.locator("#list-deadline")).to_contain_text("Publiée sur la page publique de la commune le")
    resident.goto(f"/p/actes/{world.insee_a}/")
    link = resident.get_by_role("link", name=f"Liste des délibérations du {day:%d/%m/%Y}")
    expect(link).to_be_visible()
    shot(resident, "actes-public-with-list-phone")
    assert overflow(resident) == 0
    listing = resident.request.get(link.get_attribute("href"))
    text = subprocess.run(["pdftotext", "-", "-"], input=listing.body(), capture_output=True,
                          check=True).stdout.decode()
    text = " ".join(text.split())
    assert "Vote du budget primitif 2026 de la commune" in text and "Adoptée" in text

    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    admin.goto("/admin/s/actes/")
    expect(admin.locator("main")).to_contain_text("dans 20 jours")
    shot(admin, "actes-department")
    assert not errors, errors
