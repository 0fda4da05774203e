"""Forms of the portal (Flask-WTF: every form carries its CSRF token)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


class EmailAddress:
    def __call__(self, form, field):
        field.data = normalise_email(field.data)
        if not EMAIL_RE.match(field.data):
            raise ValidationError(_l("Enter a valid e-mail address, for example prenom.nom@mairie.fr."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                        EmailAddress()])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                        EmailAddress()])
    submit = SubmitField(_l("Send me a link"))


class SetPasswordForm(FlaskForm):
    full_name = StringField(_l("First name and last name"), validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(
        _l("Confirm the password"),
        validators=[DataRequired(_l("Type the password again.")),
                    EqualTo("password", _l("The two passwords are different."))],
    )
    submit = SubmitField(_l("Save my password"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password."))])
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Choose a password."))])
    confirm = PasswordField(
        _l("Confirm the new password"),
        validators=[DataRequired(_l("Type the password again.")),
                    EqualTo("password", _l("The two passwords are different."))],
    )
    submit = SubmitField(_l("Change my password"))


class ProfileForm(FlaskForm):
    full_name = StringField(_l("First name and last name"), validators=[Length(max=200)])
    locale = SelectField(_l("Language"), choices=[("fr", "Français"), ("en", "English")])
    submit = SubmitField(_l("Save"))


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[DataRequired(_l("Give the token a name.")),
                                                           Length(max=100)])
    submit = SubmitField(_l("Create a token"))


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("Enter an e-mail address.")),
                                                        EmailAddress()])
    full_name = StringField(_l("First name and last name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"))
    submit = SubmitField(_l("Send the invitation"))


class MemberForm(FlaskForm):
    role = SelectField(_l("Role"))
    extra_permissions = MultiCheckboxField(_l("Additional permissions"), choices=[])
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    """An empty form: a button protected by CSRF."""

    submit = SubmitField(_l("Confirm"))


class ConventionForm(FlaskForm):
    number = StringField(_l("Convention number"), validators=[DataRequired(_l("Enter the convention number.")),
                                                             Length(max=40)])
    signed_on = DateField(_l("Signature date"), validators=[Optional()])
    starts_on = DateField(_l("Start date"), validators=[DataRequired(_l("Enter the start date."))])
    ends_on = DateField(_l("End date"), validators=[Optional()])
    status = SelectField(_l("Status"))
    services = MultiCheckboxField(_l("Services covered"), choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Save the convention"))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end date must be after the start date."))

    def validate_status(self, field):
        if field.data == "active" and not self.signed_on.data:
            raise ValidationError(_l("An active convention must have a signature date."))


class FirstAccountForm(FlaskForm):
    email = EmailField(_l("E-mail address of the account"), validators=[DataRequired(_l("Enter an e-mail address.")),
                                                                EmailAddress()])
    full_name = StringField(_l("First name and last name"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Create the account and send the activation link"))


class ServiceToggleForm(FlaskForm):
    service = HiddenField(validators=[DataRequired()])
    enabled = BooleanField()
    submit = SubmitField(_l("Save"))


class SupportForm(FlaskForm):
    """Opening the department's support mode on one collectivity: a stated reason and a short duration."""

    reason = TextAreaField(_l("Reason (shown to the mayor and kept in the audit log)"), validators=[
        DataRequired(_l("State why you need to see the data of this collectivity.")),
        Length(min=15, max=500, message=_l("The reason must be between 15 and 500 characters long."))])
    duration = SelectField(_l("Duration"), coerce=int, default=30,
                           choices=[(15, _l("15 minutes")), (30, _l("30 minutes")), (60, _l("1 hour")),
                                    (120, _l("2 hours"))])
    submit = SubmitField(_l("Open the support mode"))
