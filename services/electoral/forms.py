"""The forms of the electoral rolls' pages (French labels, dates as DD/MM/YYYY)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.widgets import HiddenInput
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from . import roll
from .calendar import KINDS


def french_date(form, field):
    value = roll.parse_date(field.data or "")
    if value is None:
        raise ValidationError(_l("Enter a real date as DD/MM/YYYY (for example 07/03/1981)."))
    field.parsed = value


def justification_file(form, field):
    """Optional supporting document: PDF, JPEG or PNG, 5 MB at most; read once into ``field.content``."""
    field.content = None
    f = field.data
    if not f or not getattr(f, "filename", ""):
        return
    import os

    ext = os.path.splitext(f.filename)[1].lower()
    if ext not in JUSTIFICATION_TYPES:
        raise ValidationError(_l("The supporting document must be a PDF, JPEG or PNG file."))
    data = f.read(MAX_JUSTIFICATION + 1)
    if len(data) > MAX_JUSTIFICATION:
        raise ValidationError(_l("The supporting document is too large (5 MB at most)."))
    if not data:
        raise ValidationError(_l("The supporting document is empty."))
    field.content = data


class VoterForm(FlaskForm):
    birth_name = StringField(_l("Birth name"), validators=[DataRequired(), Length(max=100)])
    usage_name = StringField(_l("Usage name (if different)"), validators=[Optional(), Length(max=100)])
    first_names = StringField(_l("First names (all, in order)"), validators=[DataRequired(), Length(max=200)])
    sex = SelectField(_l("Sex"), choices=[("F", _l("Female")), ("M", _l("Male"))])
    birth_date = StringField(_l("Date of birth"), validators=[DataRequired(), french_date])
    birth_place = StringField(_l("Commune of birth"), validators=[Optional(), Length(max=100)])
    birth_department = StringField(_l("Department of birth"), validators=[Optional(), Length(max=3)])
    birth_country = StringField(_l("Country of birth (if born abroad)"), validators=[Optional(), Length(max=60)])
    nationality = StringField(_l("Nationality (complementary lists)"), validators=[Optional(), Length(max=60)])
    street_number = StringField(_l("Number"), validators=[Optional(), Length(max=20)])
    street_type = StringField(_l("Type of street"), validators=[Optional(), Length(max=40)])
    street_name = StringField(_l("Street name"), validators=[Optional(), Length(max=200)])
    lieu_dit = StringField(_l("Lieu-dit"), validators=[Optional(), Length(max=200)])
    complement1 = StringField(_l("Address complement (flat, floor…)"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("Town"), validators=[Optional(), Length(max=100)])
    ine = StringField(_l("INE (national elector number), if known"), validators=[Optional(), Length(max=20)])
    on_general = BooleanField(_l("Main list"), default=True)
    on_eu = BooleanField(_l("Complementary list (European elections)"))
    on_municipal = BooleanField(_l("Complementary list (municipal elections)"))
    bureau = SelectField(_l("Polling station"), coerce=int, choices=[])
    bureau_reason = StringField(_l("Reason if you choose another bureau than the proposed one"),
                                validators=[Optional(), Length(max=200)])
    reason = SelectField(_l("Reason for registration"), choices=[])
    effective_on = StringField(_l("Effective date"), validators=[DataRequired(), french_date])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    confirm_duplicate = BooleanField(_l("I checked: this is not the same person"))
    justification = FileField(_l("Supporting document (PDF, JPEG or PNG, optional)"), validators=[justification_file])

    def validate_birth_place(self, field):
        if not field.data and not self.birth_country.data:
            raise ValidationError(_l("Enter the commune of birth, or the country for a person born abroad."))

    def values(self) -> dict:
        data = {name: (getattr(self, name).data or "").strip() for name in (
            "birth_name", "usage_name", "first_names", "sex", "birth_place", "birth_department", "birth_country",
            "nationality", "street_number", "street_type", "street_name", "lieu_dit", "complement1", "postal_code",
            "city", "ine")}
        data["birth_name"] = data["birth_name"].upper()
        data["usage_name"] = data["usage_name"].upper()
        data["birth_date"] = roll.parse_date(self.birth_date.data)
        for name in ("on_general", "on_eu", "on_municipal"):
            data[name] = bool(getattr(self, name).data)
        return data


JUSTIFICATION_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MAX_JUSTIFICATION = 5 * 1024 * 1024


class ChangeForm(VoterForm):
    kind = SelectField(_l("What changes"), choices=[])


class RemoveForm(FlaskForm):
    reason = SelectField(_l("Reason for removal"), choices=[])
    justification = FileField(_l("Supporting document (PDF, JPEG or PNG, optional)"), validators=[justification_file])
    effective_on = StringField(_l("Effective date"), validators=[DataRequired(), french_date])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV, semicolon-separated)"), validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    pass


class BureauForm(FlaskForm):
    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=10)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    latitude = DecimalField(_l("Latitude (WGS84, e.g. 48.2466)"), places=6, validators=[Optional(),
                            NumberRange(min=41, max=51.5, message=_l("A latitude in France is between 41 and 51.5."))])
    longitude = DecimalField(_l("Longitude (WGS84, e.g. 4.6912)"), places=6, validators=[Optional(),
                             NumberRange(min=-5.5, max=10, message=_l("A longitude in France is between -5.5 and 10."))])


class StreetForm(FlaskForm):
    street = StringField(_l("Street (type and name) or lieu-dit"), validators=[DataRequired(), Length(max=200)])
    bureau = SelectField(_l("Polling station"), coerce=int, choices=[])


class ElectionForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=list(KINDS.items()))
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    first_round = StringField(_l("First round"), validators=[DataRequired(), french_date])
    second_round = StringField(_l("Second round (if any)"), validators=[Optional()])
    registration_deadline = StringField(_l("Registration deadline fixed by the decree (early election)"),
                                        validators=[Optional()])
    registration_deadline_reference = StringField(_l("Legal reference of this deadline"),
                                                  validators=[Optional(), Length(max=300)])

    def validate_second_round(self, field):
        if field.data:
            french_date(self, field)

    def validate_registration_deadline(self, field):
        if field.data:
            french_date(self, field)
            if not (self.registration_deadline_reference.data or "").strip():
                raise ValidationError(_l("Give the legal reference of this deadline (the decree convening the "
                                         "voters)."))


class DeadlineForm(FlaskForm):
    """The registration deadline an election's decree fixes (empty: the deadline of article L. 17)."""
    registration_deadline = ElectionForm.registration_deadline
    registration_deadline_reference = ElectionForm.registration_deadline_reference
    validate_registration_deadline = ElectionForm.validate_registration_deadline


class CommissionForm(FlaskForm):
    class Meta:
        csrf = False

    du = StringField(_l("From"), validators=[DataRequired(), french_date])
    au = StringField(_l("To"), validators=[DataRequired(), french_date])


class ProcurationForm(FlaskForm):
    """A procuration as the mairie records it from the receipt (récépissé) the authority gave the mandant."""
    mandant = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    proxy_birth_name = StringField(_l("Birth name of the mandataire"), validators=[DataRequired(), Length(max=100)])
    proxy_usage_name = StringField(_l("Usage name (if different)"), validators=[Optional(), Length(max=100)])
    proxy_first_names = StringField(_l("First names of the mandataire"), validators=[DataRequired(), Length(max=200)])
    proxy_birth_date = StringField(_l("Date of birth of the mandataire"), validators=[DataRequired(), french_date])
    proxy_commune = StringField(_l("Commune where the mandataire is registered"),
                                validators=[Optional(), Length(max=100)])
    proxy_ine = StringField(_l("INE of the mandataire, if known"), validators=[Optional(), Length(max=20)])
    election = SelectField(_l("Valid for"), coerce=int, choices=[])
    valid_from = StringField(_l("First day (procuration for a period)"), validators=[Optional()])
    valid_until = StringField(_l("Last day (one year at most)"), validators=[Optional()])
    authority = SelectField(_l("Established by"), choices=[])
    established_on = StringField(_l("Established on"), validators=[DataRequired(), french_date])
    reference = StringField(_l("Reference of the receipt"), validators=[Optional(), Length(max=60)])

    def validate_valid_from(self, field):
        if field.data:
            french_date(self, field)

    def validate_valid_until(self, field):
        if field.data:
            french_date(self, field)


class ProcurationImportForm(FlaskForm):
    file = FileField(_l("File of procurations from the REU (CSV)"), validators=[DataRequired()])
