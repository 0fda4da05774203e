"""The consultation documents (RC, AAPC, acte d'engagement per lot, CCAP skeleton) and the DCE zip.

Each document is built once as a list of blocks (heading, paragraph, table), then written as PDF (WeasyPrint),
.docx (python-docx) and .odt (odfpy), so the three formats always say the same thing. The documents are in French:
they are legal documents of a French buyer whatever the interface language.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from html import escape

from .rules import fmt_eur

FORMATS = {"pdf": "application/pdf",
           "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "odt": "application/vnd.oasis.opendocument.text"}

NATURE_FR = {"works": "Travaux", "supplies": "Fournitures", "services": "Services"}
PROCEDURE_FR = {"none": "Marché sans publicité ni mise en concurrence préalables (article R2122-8 du code de la "
                        "commande publique)",
                "mapa": "Procédure adaptée (articles L2123-1 et R2123-1 du code de la commande publique)",
                "formalised": "Appel d'offres ouvert (articles L2124-2, R2124-2 et R2161-2 à R2161-5 du code de la "
                              "commande publique)"}
CCAG_FR = {"works": "CCAG applicable aux marchés publics de travaux (arrêté du 30 mars 2021)",
           "supplies": "CCAG applicable aux marchés publics de fournitures courantes et de services (arrêté du "
                       "30 mars 2021)",
           "services": "CCAG applicable aux marchés publics de fournitures courantes et de services (arrêté du "
                       "30 mars 2021)"}


CRITERIA_FR = {"price": "Prix", "technical": "Valeur technique", "delay": "Délais d'exécution",
               "environment": "Performances en matière de protection de l'environnement"}
SINGLE_LOT_FR = {
    "indivisible": "le besoin ne permet pas l'identification de prestations distinctes (article L2113-11, 1°)",
    "competition": "la dévolution en lots séparés est de nature à restreindre la concurrence (article L2113-11, 1°)",
    "costly": "la dévolution en lots séparés risque de rendre techniquement difficile ou financièrement plus coûteuse "
              "l'exécution des prestations (article L2113-11, 2°)",
    "coordination": "l'acheteur n'est pas en mesure d'assurer lui-même les missions d'organisation, de pilotage et "
                    "de coordination (article L2113-11, 2°)",
}


def procedure_fr(t) -> str:
    if t.procedure == "mapa" and t.publicity == "voluntary":
        return ("Procédure adaptée ouverte volontairement par l'acheteur, le montant estimé étant inférieur au seuil "
                "de dispense de l'article R2122-8 du code de la commande publique (articles L2123-1 et R2123-1)")
    return PROCEDURE_FR.get(t.procedure, "à compléter")


def criterion_fr(c: dict) -> str:
    return CRITERIA_FR.get(c.get("code"), c.get("label", ""))


_TYPO = ((" :", "\u00a0:"), (" ;", "\u00a0;"), (" ?", "\u00a0?"), (" !", "\u00a0!"), ("« ", "«\u00a0"),
         (" »", "\u00a0»"))


def typo(text: str) -> str:
    """French typography: a no-break space before « : ; ? ! » and inside guillemets (idempotent)."""
    for plain, fine in _TYPO:
        text = text.replace(plain, fine)
    return text


@dataclass
class Doc:
    code: str
    title: str
    filename: str
    blocks: list[tuple] = field(default_factory=list)

    def h(self, text):
        self.blocks.append(("h2", typo(text)))

    def p(self, text):
        self.blocks.append(("p", typo(text)))

    def table(self, rows):
        self.blocks.append(("table", [tuple(typo(str(c)) for c in row) for row in rows]))

    def text(self) -> str:
        out = [self.title]
        for kind, value in self.blocks:
            out.extend(" | ".join(r) for r in value) if kind == "table" else out.append(value)
        return "\n".join(out)


def _d(value, fmt="%d/%m/%Y"):
    return value.strftime(fmt) if value else "à compléter"


def _dt(value):
    return value.strftime("%d/%m/%Y à %H h %M") if value else "à compléter"


def _buyer(t) -> list[tuple[str, str]]:
    c = t.collectivity
    kind = "Commune" if c.kind == "commune" else "Établissement public de coopération intercommunale"
    return [("Acheteur", f"{c.name} ({kind})"), ("SIRET", t.buyer_siret or "à compléter"),
            ("Contact", t.contact_email or "à compléter")]


def _head(doc: Doc, t):
    doc.table([("Objet du marché", t.title or "à compléter"), ("Référence", t.reference)] + _buyer(t))


def zone_text(t) -> str:
    """« heure de Paris (UTC+1 en hiver, UTC+2 en été) », « heure de Mayotte (UTC+3) »: the time zone of the buyer's
    département in which the deadline is written, with its offsets in the deadline's year."""
    import datetime as dt

    from portal.identity import zone_for

    zone = zone_for(t.collectivity)
    year = (t.reception_deadline or dt.datetime.now(zone)).year

    def offset(month: int) -> str:
        minutes = int(dt.datetime(year, month, 15, 12, tzinfo=zone).utcoffset().total_seconds() // 60)
        sign = "+" if minutes >= 0 else "−"
        h, m = divmod(abs(minutes), 60)
        return f"UTC{sign}{h}" + (f"h{m:02d}" if m else "")

    winter, summer = offset(1), offset(7)
    if winter == summer:
        return f"{t.zone_label} ({winter}, sans changement d'heure)"
    return f"{t.zone_label} ({winter} en hiver, {summer} en été)"


def submission_fr(t) -> list[str]:
    """How and where a company submits its bid: the RC, the AAPC and the public page say the same."""
    from portal.urls import absolute_url

    url = absolute_url("tenders_public.detail", tender_id=t.id) if t.id else "à compléter"
    deadline = _dt(t.reception_deadline)
    return [
        f"Les offres sont remises par voie électronique exclusivement, sur la page de la consultation : {url} "
        "(bouton « Déposer une offre », après création d'un compte entreprise gratuit — numéro SIRET et adresse "
        "électronique confirmée). Le dossier de consultation y est téléchargeable librement, sans identification.",
        f"Date et heure limites de réception des offres : {deadline}, {zone_text(t)}. Chaque dépôt est horodaté par l'horloge du serveur ; un accusé de réception "
        "(PDF et courriel) indique l'heure de réception et l'empreinte SHA-256 de chaque fichier.",
        "La signature électronique de l'offre n'est pas exigée au moment du dépôt : seul l'attributaire signe le "
        "marché avant sa notification.",
        "Un dépôt dont le dernier octet parvient à la date et l'heure limites ou après est hors délai : la "
        "plateforme le reçoit et le conserve sous scellés, inscrit « hors délai » au registre des dépôts, mais il "
        "est éliminé et n'est pas ouvert (articles R2143-2 et R2151-5 du code de la commande publique) ; il ne "
        "remplace pas un dépôt antérieur reçu dans le délai. Avant la date limite, une entreprise peut déposer une "
        "nouvelle offre, qui remplace la précédente ; tous les dépôts restent inscrits au registre des dépôts.",
        "Les candidats peuvent transmettre, dans le délai de remise des offres, une copie de sauvegarde sur support "
        "physique électronique ou sur support papier (article R2132-11 du code de la commande publique), sous pli "
        "fermé portant la mention « copie de sauvegarde ».",
        "Les fichiers sont chiffrés dès leur réception et ne peuvent être ouverts par personne avant la date limite. "
        "Formats acceptés : PDF, documents Office et OpenDocument, images, archives zip non chiffrées ; les fichiers "
        "exécutables, à macros ou chiffrés sont refusés.",
    ]


def rc(t) -> Doc:
    doc = Doc("rc", "Règlement de la consultation", f"{t.reference}-RC")
    _head(doc, t)
    doc.h("1. Objet de la consultation")
    doc.p(t.description or t.title)
    doc.table([("Nature", NATURE_FR.get(t.nature, "à compléter")), ("Code CPV principal", t.cpv_code or "à compléter"),
               ("Lieu d'exécution", t.place or "à compléter"),
               ("Durée", f"{t.duration_months or 'à compléter'} mois"
                         + (f", reconductible {t.renewals} fois {t.renewal_months} mois" if t.renewals else ""))])
    doc.h("2. Procédure")
    doc.p(procedure_fr(t) + ".")
    doc.h("3. Allotissement")
    if len(t.lots) > 1:
        doc.table([("Lot", "Intitulé")] + [(str(lot.number), lot.title) for lot in t.lots])
        doc.p("Les candidats peuvent répondre à un ou plusieurs lots.")
    else:
        doc.p("Le marché n'est pas alloti. Motif : " + SINGLE_LOT_FR.get(t.single_lot_reason, "à compléter") + ".")
    doc.h("4. Calendrier")
    doc.table([("Date limite de réception des questions", _dt(t.questions_deadline)),
               ("Date limite de réception des offres", _dt(t.reception_deadline)),
               ("Ouverture des plis", _d(t.opening_date)), ("Notification prévisionnelle", _d(t.notification_date))])
    doc.p("Les offres sont valables 120 jours à compter de la date limite de réception des offres.")
    doc.h("5. Contenu du dossier de consultation")
    doc.p("Le présent règlement, l'avis d'appel public à la concurrence, l'acte d'engagement (un par lot), le cahier "
          "des clauses administratives particulières et les pièces jointes par l'acheteur.")
    doc.h("6. Critères de jugement des offres")
    doc.p("L'offre économiquement la plus avantageuse est choisie selon les critères pondérés suivants "
          "(article R2152-7 du code de la commande publique) :")
    doc.table([("Critère", "Pondération")] + [(criterion_fr(c), f"{c['weight']} %") for c in (t.criteria or [])])
    doc.h("7. Questions des candidats")
    doc.p("Les questions sont posées sur la page publique de la consultation. Les réponses sont publiées pour tous les "
          "candidats, sans le nom de l'auteur de la question.")
    doc.h("8. Modalités de remise des offres")
    for paragraph in submission_fr(t):
        doc.p(paragraph)
    return doc


def aapc(t) -> Doc:
    doc = Doc("aapc", "Avis d'appel public à la concurrence", f"{t.reference}-AAPC")
    _head(doc, t)
    doc.table([("Nature", NATURE_FR.get(t.nature, "à compléter")), ("Code CPV", t.cpv_code or "à compléter"),
               ("Lieu d'exécution", t.place or "à compléter"), ("Procédure", procedure_fr(t)),
               ("Valeur estimée (HT)", fmt_eur(t.amount_ht) if t.amount_ht else "à compléter"),
               ("Date limite de réception des offres", _dt(t.reception_deadline))])
    doc.h("Description")
    doc.p(t.description or t.title)
    doc.h("Critères d'attribution")
    doc.table([(criterion_fr(c), f"{c['weight']} %") for c in (t.criteria or [])])
    doc.h("Modalités de remise des offres")
    for paragraph in submission_fr(t)[:4]:
        doc.p(paragraph)
    return doc


def ae(t, lot) -> Doc:
    doc = Doc(f"ae-{lot.number}", f"Acte d'engagement — lot {lot.number}",
              f"{t.reference}-AE-lot{lot.number}")
    doc.p("Structure du formulaire ATTRI1 (acte d'engagement) de la direction des affaires juridiques du ministère "
          "de l'Économie.")
    doc.h("A - Objet de l'acte d'engagement")
    doc.table([("Objet du marché public", t.title), ("Lot", f"{lot.number} — {lot.title}"),
               ("Référence", t.reference)])
    doc.h("B - Engagement du titulaire ou du groupement titulaire")
    doc.p("Après avoir pris connaissance des pièces constitutives du marché public, le signataire s'engage, sur la base "
          "de son offre, à exécuter les prestations demandées.")
    doc.table([("Nom, prénom et qualité du signataire", ""), ("Dénomination de l'entreprise", ""), ("SIRET", ""),
               ("Adresse", ""), ("Courriel", "")])
    doc.p("Prix : le marché est conclu pour un montant hors taxes de ……………… €, soit un montant TTC de ……………… €.")
    doc.h("C - Désignation des cotraitants et répartition des prestations")
    doc.p("À compléter en cas de groupement.")
    doc.h("D - Compte(s) à créditer")
    doc.p("Joindre un relevé d'identité bancaire.")
    doc.h("E - Avance (article R2191-3 du code de la commande publique)")
    doc.p("Le titulaire renonce / ne renonce pas au bénéfice de l'avance (rayer la mention inutile).")
    doc.h("F - Durée d'exécution")
    doc.p(f"{t.duration_months or 'à compléter'} mois à compter de la notification.")
    doc.h("G - Signature du titulaire")
    doc.p("À ……………… , le ……………… . Signature.")
    doc.h("H - Identification et signature de l'acheteur")
    doc.table(_buyer(t))
    return doc


def ccap(t) -> Doc:
    doc = Doc("ccap", "Cahier des clauses administratives particulières (trame)", f"{t.reference}-CCAP")
    _head(doc, t)
    doc.p("Trame à compléter par l'acheteur : les passages « à compléter » doivent être remplis avant publication.")
    doc.h("Article 1 - Objet du marché")
    doc.p(t.description or t.title)
    doc.h("Article 2 - Pièces contractuelles")
    doc.p("Par ordre de priorité : l'acte d'engagement, le présent CCAP, le CCTP, le "
          + CCAG_FR.get(t.nature, "CCAG applicable") + ", l'offre du titulaire.")
    doc.h("Article 3 - Durée")
    doc.p(f"{t.duration_months or 'à compléter'} mois"
          + (f", reconductible {t.renewals} fois pour {t.renewal_months} mois" if t.renewals else "") + ".")
    doc.h("Article 4 - Prix et règlement")
    doc.p("Prix global et forfaitaire, ferme. Délai de paiement : 30 jours (article R2192-10 du code de la commande "
          "publique).")
    doc.h("Article 5 - Pénalités")
    doc.p("À compléter.")
    doc.h("Article 6 - Dérogations au CCAG")
    doc.p("À compléter.")
    return doc


def correction(t, c) -> Doc:
    """Avis rectificatif n° N: what changed in the published consultation, and why."""
    from .ending import CORRECTABLE, display

    doc = Doc(f"rectificatif-{c.number}", f"Avis rectificatif n° {c.number}", f"{t.reference}-rectificatif-{c.number}")
    _head(doc, t)
    doc.p(f"Le présent avis, publié le {c.published_at:%d/%m/%Y à %H h %M}, modifie l'avis d'appel public à la "
          f"concurrence publié le {_d(t.published_at)}. Les autres mentions de l'avis et des documents de la "
          "consultation sont inchangées.")
    doc.h("Objet de la rectification")
    doc.p(c.reason)
    doc.h("Modifications")
    doc.table([("Rubrique", "Au lieu de", "Lire")] + [
        (CORRECTABLE.get(ch["field"], ch["field"]), display(ch["field"], ch["old"]), display(ch["field"], ch["new"]))
        for ch in c.changes])
    return doc


def ending(t) -> Doc:
    """The published decision that ends the procedure without a contract."""
    from .ending import legal_mention

    title = "Avis d'infructuosité" if t.status == "unsuccessful" else "Décision de déclaration sans suite"
    doc = Doc("fin", title, f"{t.reference}-fin-de-procedure")
    _head(doc, t)
    doc.p(legal_mention(t))
    doc.p("Les opérateurs économiques ayant participé à la consultation sont informés des motifs de cette décision "
          "(article R2185-2 du code de la commande publique).")
    if t.status == "unsuccessful":
        doc.p("L'acheteur peut relancer une procédure. Après une procédure formalisée infructueuse faute d'offre ou en "
              "présence des seules offres inappropriées, il peut passer un marché sans publicité ni mise en "
              "concurrence préalables si les conditions initiales ne sont pas substantiellement modifiées (article "
              "R2122-2 du code de la commande publique).")
    return doc


def all_docs(t) -> list[Doc]:
    docs = [rc(t), aapc(t)] + [ae(t, lot) for lot in t.lots] + [ccap(t)]
    docs += [correction(t, c) for c in t.corrections]
    if t.ended:
        docs.append(ending(t))
    return docs


def find(t, code: str) -> Doc | None:
    for d in all_docs(t):
        if d.code == code:
            return d
    return None


# Writers ---------------------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 2cm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.4; color: #161616; }
h1 { font-size: 17pt; border-bottom: 2px solid #000091; padding-bottom: 4pt; }
h2 { font-size: 12.5pt; margin-top: 14pt; color: #000091; }
table { border-collapse: collapse; width: 100%; margin: 6pt 0; }
td { border: 1px solid #999; padding: 3pt 5pt; vertical-align: top; overflow-wrap: anywhere; }
td:first-child { width: 40%; font-weight: bold; }
table.grid { font-size: 8.5pt; }
table.grid td { overflow-wrap: break-word; }
table.grid td:first-child { width: auto; font-weight: normal; }
table.grid tr:first-child td { font-weight: bold; background: #eef; }
"""


def to_html(doc: Doc) -> str:
    parts = [f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{escape(doc.title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{escape(doc.title)}</h1>"]
    for kind, value in doc.blocks:
        if kind == "table":
            grid = " class='grid'" if value and len(value[0]) > 2 else ""  # a listing with a header row
            parts.append(f"<table{grid}>" + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                                             for row in value) + "</table>")
        else:
            parts.append(f"<{kind}>{escape(value)}</{kind}>")
    return "".join(parts) + "</body></html>"


def to_pdf(doc: Doc) -> bytes:
    from weasyprint import HTML

    return HTML(string=to_html(doc)).write_pdf()


def to_docx(doc: Doc) -> bytes:
    from docx import Document

    d = Document()
    d.core_properties.title = doc.title
    d.add_heading(doc.title, level=1)
    for kind, value in doc.blocks:
        if kind == "h2":
            d.add_heading(value, level=2)
        elif kind == "p":
            d.add_paragraph(value)
        else:
            cols = max(len(r) for r in value) if value else 1
            table = d.add_table(rows=0, cols=cols)
            table.style = "Table Grid"
            for row in value:
                cells = table.add_row().cells
                for i, c in enumerate(row):
                    cells[i].text = c
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def to_odt(doc: Doc) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.style import ParagraphProperties, Style, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    o = OpenDocumentText()
    h1 = Style(name="Heading 1", family="paragraph")
    h1.addElement(TextProperties(fontsize="17pt", fontweight="bold"))
    h2 = Style(name="Heading 2", family="paragraph")
    h2.addElement(TextProperties(fontsize="12.5pt", fontweight="bold", color="#000091"))
    h2.addElement(ParagraphProperties(margintop="0.4cm"))
    o.styles.addElement(h1)
    o.styles.addElement(h2)
    o.text.addElement(H(outlinelevel=1, stylename=h1, text=doc.title))
    for n, (kind, value) in enumerate(doc.blocks):
        if kind == "h2":
            o.text.addElement(H(outlinelevel=2, stylename=h2, text=value))
        elif kind == "p":
            o.text.addElement(P(text=value))
        else:
            cols = max(len(r) for r in value) if value else 1
            table = Table(name=f"Tableau{n}")
            table.addElement(TableColumn(numbercolumnsrepeated=cols))
            for row in value:
                tr = TableRow()
                for c in row:
                    cell = TableCell()
                    cell.addElement(P(text=c))
                    tr.addElement(cell)
                table.addElement(tr)
            o.text.addElement(table)
    buf = io.BytesIO()
    o.save(buf)
    return buf.getvalue()


WRITERS = {"pdf": to_pdf, "docx": to_docx, "odt": to_odt}


def render(doc: Doc, fmt: str) -> bytes:
    return WRITERS[fmt](doc)


def safe_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "piece"
    return name[:120]


# Formats that are already compressed (PDF streams, zip containers, images): stored as they are in the DCE zip,
# deflating them again costs CPU for nothing (bench/tenders.py)
COMPRESSED = {"pdf", "docx", "odt", "xlsx", "ods", "zip", "jpg", "jpeg", "png"}


def _kind(name: str) -> int:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return zipfile.ZIP_STORED if ext in COMPRESSED else zipfile.ZIP_DEFLATED


def dce_zip(t) -> bytes:
    """Every document in PDF (and editable .docx/.odt) plus the buyer's attachments, in one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for doc in all_docs(t):
            z.writestr(f"{doc.filename}.pdf", to_pdf(doc), compress_type=zipfile.ZIP_STORED)
            z.writestr(f"modifiables/{doc.filename}.docx", to_docx(doc), compress_type=zipfile.ZIP_STORED)
            z.writestr(f"modifiables/{doc.filename}.odt", to_odt(doc), compress_type=zipfile.ZIP_STORED)
        for a in t.attachments:
            name = f"pieces-jointes/{a.id}-{safe_name(a.filename)}"
            z.writestr(name, a.content, compress_type=_kind(name))
    return buf.getvalue()
