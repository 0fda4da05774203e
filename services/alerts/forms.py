from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (DateTimeLocalField, EmailField, HiddenField, SelectField, SelectMultipleField, StringField, SubmitField,
                     TextAreaField, widgets)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from . import schemas
from .models import SEVERITIES


def _checked(check):
    """A WTForms validator from one of :mod:`schemas`' checks (an empty field is not checked)."""
    def validator(form, field) -> None:
        if field.data and field.data.strip():
            try:
                check(field.data)
            except schemas.InvalidAddress as exc:
                raise ValidationError(str(exc)) from exc
    return validator


valid_email = _checked(schemas.email_address)
valid_mobile = _checked(schemas.mobile_number)


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SubscribeForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254), valid_email])
    phone = StringField(_l("Mobile phone number"), validators=[Optional(), Length(max=30), valid_mobile])
    lists = MultiCheckbox(_l("Messages you want to receive"), coerce=int,
                          validators=[DataRequired(message=_l("Choose at least one list."))])
    address = StringField(_l("Street address (optional, for alerts about your street)"),
                          validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Subscribe"))


class CodeForm(FlaskForm):
    code = StringField(_l("Code received by SMS"), validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$",
                                                             message=_l("The code has 6 digits."))])
    submit = SubmitField(_l("Confirm"))


class ManageForm(FlaskForm):
    lists = MultiCheckbox(_l("Messages you receive"), coerce=int, validators=[Optional()])
    address = StringField(_l("Street address (optional, for alerts about your street)"),
                          validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save my choices"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class ListForm(FlaskForm):
    name = StringField(_l("Name of the list"), validators=[DataRequired(), Length(max=120)])
    purpose = TextAreaField(_l("Purpose, as residents will read it"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Add the list"))


SEVERITY_LABELS = {
    "info": _l("Information"),
    "minor": _l("Minor"),
    "moderate": _l("Moderate"),
    "severe": _l("Severe"),
    "extreme": _l("Extreme (danger to life)"),
}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}


class ComposeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Give the alert a title.")),
                                                Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(message=_l("The message is empty.")),
                                                    Length(max=5000)])
    severity = SelectField(_l("Severity"), choices=[(s, SEVERITY_LABELS[s]) for s in SEVERITIES], default="info")
    channels = MultiCheckbox(_l("Channels"), choices=list(CHANNEL_LABELS.items()),
                             validators=[DataRequired(message=_l("Choose at least one channel."))])
    lists = MultiCheckbox(_l("Lists"), coerce=int, validators=[DataRequired(message=_l("Choose at least one list."))])
    zone = HiddenField()
    reference_id = HiddenField()  # the earlier alert, for an update or an end of alert (CAP Update / Cancel)
    msg_type = HiddenField()
    streets = MultiCheckbox(_l("Only the residents of these streets (optional)"), validators=[Optional()])
    scheduled_at = DateTimeLocalField(_l("Send later (leave empty to send now)"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])
    preview = SubmitField(_l("Preview"))
    test = SubmitField(_l("Send a test to myself"))
    send = SubmitField(_l("Send"))


class CancelForm(FlaskForm):
    submit = SubmitField(_l("Cancel this alert"))


class IndividualForm(FlaskForm):
    template = SelectField(_l("Model"), validators=[DataRequired()])
    channel = SelectField(_l("Send by"), choices=list(CHANNEL_LABELS.items()), default="sms")
    recipient = StringField(_l("Mobile number or e-mail address of the person"),
                            validators=[DataRequired(message=_l("Give the person's mobile number or e-mail address.")),
                                        Length(max=254)])
    name = StringField(_l("Name of the person (optional)"), validators=[Optional(), Length(max=120)])
    detail = StringField(_l("Detail (opening hours, date, document…)"), validators=[Optional(), Length(max=200)])
    legal_basis = StringField(_l("Legal basis"), validators=[DataRequired(message=_l("Record the legal basis.")),
                                                            Length(max=300)])
    preview = SubmitField(_l("Preview"))
    send = SubmitField(_l("Send"))
