"""Individual messages: one person, one procedure (identity card, passport, civil-status certificate…), written from
a model with fields, with the legal basis recorded. Never published, never sent to a list."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit
from portal.extensions import db
from portal.registry import requires

from .settings import setting
from . import schemas
from . import sms as smsmod
from .delivery import commune_name, queue_alert, sms_text
from .forms import IndividualForm
from .models import Alert
from .views import _commune_insee, bp, quota_error

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
    de_commune = f"d'{commune}" if commune[:1].upper() in "AEIOUYÂÉÈÊÎÔÛ" else f"de {commune}"
    return title, text.format(de_commune=de_commune, name=f" {name.strip()}" if name and name.strip() else "", commune=commune,
                              detail=f" {detail.strip()}" if detail and detail.strip() else "")


@bp.route("/messages/nouveau", methods=["GET", "POST"])
@requires("alerts.send")
def individual():
    insee = _commune_insee()
    commune = commune_name(insee)
    form = IndividualForm()
    form.template.choices = [(k, v[0]) for k, v in MODELS.items()]
    if not form.is_submitted():
        form.legal_basis.data = MODELS["cni"][3]
    preview = None
    if form.validate_on_submit():
        title, body = render_model(form.template.data, commune, form.name.data, form.detail.data)
        channel = form.channel.data
        address = form.recipient.data.strip()
        problem = None
        try:
            address = schemas.mobile_number(address) if channel == "sms" else schemas.email_address(address)
        except schemas.InvalidAddress as exc:
            problem = str(exc)
        draft = Alert(commune_insee=insee, kind="individual", title=title, body=body, channels=[channel],
                      list_ids=[], legal_basis=form.legal_basis.data.strip())
        count = smsmod.segments(sms_text(draft, commune))
        if channel == "sms" and not problem:
            if count.segments > smsmod.MAX_SEGMENTS:
                problem = _("The SMS would take %(n)d segments; the limit is %(max)d. Shorten the message.",
                            n=count.segments, max=smsmod.MAX_SEGMENTS)
            else:
                problem = quota_error(insee, count.segments)
        if problem:
            flash(problem, "error")
        elif form.send.data:
            from .models import utcnow

            draft.author_id, draft.author_name, draft.sent_at = current_user.id, current_user.email, utcnow()
            db.session.add(draft)
            queue_alert(draft, [(None, channel, address)])
            audit.record("alerts.individual_sent", target=draft, channel=channel, model=form.template.data,
                         legal_basis=draft.legal_basis)
            db.session.commit()
            flash(_("The message is being sent."), "success")
            return redirect(url_for(".alert_detail", alert_id=draft.id))
        preview = {"title": title, "sms": sms_text(draft, commune), "segments": count,
                   "price": float(setting("ALERTS_SMS_PRICE") or 0.05)}
    bases = {k: v[3] for k, v in MODELS.items()}
    return render_template("alerts/individual.html", form=form, preview=preview, bases=bases)
