"""Forms of the information desk (Flask-WTF), and the audience choice they describe.

The audience fields are shared by every form that publishes (news today); :func:`audience_of` turns them into the
``operations.AudienceChoice`` the writes take, looking collectivities up by their code (INSEE or SIREN).
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal import audiences
from portal.extensions import db
from portal.forms import EmailAddress
from portal.models import KIND_COMMUNE, KIND_EPCI, Collectivity

from .models import DIGEST_FREQUENCIES
from .operations import AudienceChoice

AUDIENCE_LABELS = {
    audiences.ALL: _l("All collectivities"),
    audiences.COMMUNES: _l("Communes only"),
    audiences.EPCI: _l("EPCI only"),
    audiences.EPCI_MEMBERS: _l("The members of one EPCI"),
    audiences.SERVICE: _l("The subscribers of one service"),
    audiences.LIST: _l("A list of collectivities"),
    audiences.PUBLIC: _l("Everyone, residents included"),
}

FREQUENCY_LABELS = {"daily": _l("Every day"), "weekly": _l("Every week"), "never": _l("Never")}


class AudienceFields(FlaskForm):
    audience = SelectField(_l("Addressed to"), choices=[(k, v) for k, v in AUDIENCE_LABELS.items()],
                           default=audiences.ALL)
    audience_epci = SelectField(_l("EPCI"), coerce=str, choices=[], validate_choice=False)
    audience_service = SelectField(_l("Service"), coerce=str, choices=[], validate_choice=False)
    audience_codes = StringField(_l("Collectivities (INSEE or SIREN codes, separated by commas)"),
                                 validators=[Optional(), Length(max=4000)])

    def fill_choices(self, services) -> None:
        epcis = db.session.scalars(select(Collectivity).where(Collectivity.kind == KIND_EPCI)
                                   .order_by(Collectivity.name)).all()
        self.audience_epci.choices = [("", "—")] + [(str(e.id), e.name) for e in epcis]
        self.audience_service.choices = [("", "—")] + [(s.slug, str(s.name)) for s in services]

    def validate_audience_codes(self, field):
        if self.audience.data == audiences.LIST:
            codes = [c for c in re.split(r"[\s,;]+", field.data or "") if c]
            if not codes:
                raise ValidationError(_l("Give the INSEE or SIREN codes of the collectivities."))
            found = db.session.scalars(select(Collectivity).where(
                Collectivity.kind.in_((KIND_COMMUNE, KIND_EPCI)),
                or_(Collectivity.insee.in_(codes), Collectivity.siren.in_(codes)))).all()
            unknown = sorted(set(codes) - {c.insee for c in found} - {c.siren for c in found})
            if unknown:
                raise ValidationError(_l("Unknown codes: %(codes)s", codes=", ".join(unknown)))
            self.member_ids = tuple(c.id for c in found)

    def audience_choice(self) -> AudienceChoice:
        epci = self.audience_epci.data
        return AudienceChoice(kind=self.audience.data,
                              epci_id=int(epci) if epci and epci.isdigit() else None,
                              service_slug=self.audience_service.data or None,
                              member_ids=getattr(self, "member_ids", ()))

    def show_audience(self, audience) -> None:
        """Fill the fields from a stored audience (edit form)."""
        self.audience.data = audience.kind
        self.audience_epci.data = str(audience.epci_id or "")
        self.audience_service.data = audience.service_slug or ""
        self.audience_codes.data = ", ".join(m.code for m in audience.members)


class NewsForm(AudienceFields):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the news a title.")), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[Optional(), Length(max=20000)])
    pinned = BooleanField(_l("Pinned at the top of the home page"))
    document_title = StringField(_l("Title of the document"), validators=[Optional(), Length(max=200)])
    document_url = StringField(_l("Address of the document (https://…)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Publish"))


class DigestForm(FlaskForm):
    frequency = RadioField(_l("E-mail digest of the news"), choices=[(f, FREQUENCY_LABELS[f]) for f in
                                                                     DIGEST_FREQUENCIES], default="weekly")
    submit = SubmitField(_l("Save"))


class PartnerForm(FlaskForm):
    name = StringField(_l("Name of the organisation"), validators=[DataRequired(_l("Give the partner's name.")),
                                                                  Length(max=200)])
    email = StringField(_l("E-mail address of its first publisher"),
                        validators=[DataRequired(_l("Enter an e-mail address.")), EmailAddress()])
    full_name = StringField(_l("First name and last name"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add the partner and send the activation link"))


class ThreadForm(FlaskForm):
    title = StringField(_l("Your question in one line"), validators=[DataRequired(_l("Give your question a title.")),
                                                                     Length(max=200)])
    body = TextAreaField(_l("Details"), validators=[DataRequired(_l("Write your message.")), Length(max=20000)])
    submit = SubmitField(_l("Ask the question"))


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer"), validators=[DataRequired(_l("Write your message.")), Length(max=20000)])
    submit = SubmitField(_l("Answer"))


class ReportForm(FlaskForm):
    reason = StringField(_l("Why do you report this message?"),
                         validators=[DataRequired(_l("Say why you report this message.")), Length(max=500)])
    submit = SubmitField(_l("Report"))


MODERATION_ACTIONS = {"hide": _l("Hide the thread"), "show": _l("Show the thread again"),
                      "lock": _l("Lock the thread"), "unlock": _l("Unlock the thread"),
                      "move": _l("Move to the category")}


class ModerationForm(FlaskForm):
    action = SelectField(_l("Moderation"), choices=list(MODERATION_ACTIONS.items()))
    category = SelectField(_l("Category"), coerce=str, choices=[], validate_choice=False)
    submit = SubmitField(_l("Apply"))


class CategoryForm(FlaskForm):
    name = StringField(_l("Name of the category"), validators=[DataRequired(_l("Give the category a name.")),
                                                               Length(max=120)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add the category"))
