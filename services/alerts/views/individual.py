"""Individual messages (``/s/alerts/messages/nouveau``, on the staff pages' blueprint): one person, one procedure
(identity card, passport, civil-status certificate…), written from a model with fields, with the legal basis
recorded. Never published, never sent to a list."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.extensions import db
from portal.registry import requires
from portal.typography import de

from .. import access, operations, queries, schemas
from .. import sms as smsmod
from ..messages import commune_name, sms_text
from ..forms import IndividualForm
from ..models import Alert
from .pages import bp, sms_price

BASIS_PUBLIC_TASK = "Mission de service public (RGPD art. 6-1-e)"

# key → (label, title, text with {name} {de_commune} {detail}, default legal basis)
MODELS = {
    "cni": (_l("Identity card ready"), "Carte nationale d'identité disponible",
            "Bonjour{name}, votre carte nationale d'identité est arrivée à la mairie {de_commune}. "
            "Vous pouvez venir la retirer{detail}.",
            BASIS_PUBLIC_TASK + " — délivrance des titres d'identité (décret n° 55-1397)"),
    "passeport": (_l("Passport ready"), "Passeport disponible",
                  "Bonjour{name}, votre passeport est arrivé à la mairie {de_commune}. "
                  "Vous pouvez venir le retirer{detail}.",
                  BASIS_PUBLIC_TASK + " — délivrance des passeports (décret n° 2005-1726)"),
    "etat_civil": (_l("Civil-status certificate ready"), "Acte d'état civil disponible",
                   "Bonjour{name}, l'acte d'état civil que vous avez demandé est prêt à la mairie {de_commune}"
                   "{detail}.",
                   BASIS_PUBLIC_TASK + " — délivrance des actes d'état civil"),
    "rendez_vous": (_l("Appointment reminder"), "Rappel de rendez-vous",
                    "Bonjour{name}, nous vous rappelons votre rendez-vous à la mairie {de_commune}{detail}.",
                    BASIS_PUBLIC_TASK + " — démarche en cours à la demande de la personne"),
}


def render_model(key: str, commune: str, name: str, detail: str) -> tuple[str, str]:
    _label, title, text, _basis = MODELS[key]
    return title, text.format(de_commune=de(commune), name=f" {name.strip()}" if name and name.strip() else "",
                              commune=commune, detail=f" {detail.strip()}" if detail and detail.strip() else "")


def _problem(insee: str, channel: str, address: str, segments: int) -> tuple[str, str | None]:
    """The checked address, and what prevents sending (French) or None."""
    try:
        address = schemas.mobile_number(address) if channel == "sms" else schemas.email_address(address)
    except schemas.InvalidAddress as exc:
        return address, str(exc)
    if channel == "sms":
        if segments > smsmod.MAX_SEGMENTS:
            return address, _("The SMS would take %(n)d segments; the limit is %(max)d. Shorten the message.",
                              n=segments, max=smsmod.MAX_SEGMENTS)
        return address, queries.quota_error(insee, segments)
    return address, None


@bp.route("/messages/nouveau", methods=["GET", "POST"])
@requires("alerts.send")
def individual():
    insee = access.commune_insee()
    commune = commune_name(insee)
    form = IndividualForm()
    form.template.choices = [(k, v[0]) for k, v in MODELS.items()]
    if not form.is_submitted():
        form.legal_basis.data = MODELS["cni"][3]
    preview = None
    if form.validate_on_submit():
        title, body = render_model(form.template.data, commune, form.name.data, form.detail.data)
        channel = form.channel.data
        draft = Alert(commune_insee=insee, kind="individual", title=title, body=body, channels=[channel],
                      list_ids=[], legal_basis=form.legal_basis.data.strip())
        count = smsmod.segments(sms_text(draft, commune))
        address, problem = _problem(insee, channel, form.recipient.data.strip(), count.segments)
        if problem:
            flash(problem, "error")
        elif form.send.data:
            operations.send_individual(draft, channel, address, current_user, form.template.data)
            db.session.commit()
            flash(_("The message is being sent."), "success")
            return redirect(url_for(".alert_detail", alert_id=draft.id))
        preview = {"title": title, "sms": sms_text(draft, commune), "segments": count, "price": sms_price()}
    bases = {k: v[3] for k, v in MODELS.items()}
    return render_template("alerts/individual.html", form=form, preview=preview, bases=bases)
