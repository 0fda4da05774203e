"""Forms of the job offers, the directory and the agenda (Flask-WTF). Audiences reuse ``schemas.AudienceFields``;
offers and events are addressed to everyone, residents included, unless the publisher narrows them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, FloatField, IntegerField,
                     RadioField, SelectField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.forms import EmailAddress

from .models_public import EVENT_KINDS, JOB_CATEGORIES, PERSON_ROLES
from .schemas import AudienceFields

CATEGORY_LABELS = {"A": _l("Category A"), "B": _l("Category B"), "C": _l("Category C")}
CLOSED_LABELS = {"date": _l("closing date reached"), "filled": _l("post filled"), "withdrawn": _l("withdrawn")}
ROLE_LABELS = {"mayor": _l("Mayor"), "deputy": _l("Deputy mayor"), "delegate": _l("Delegated councillor"),
               "councillor": _l("Municipal councillor"), "president": _l("President"),
               "vice_president": _l("Vice-president"), "other": _l("Other office")}
EVENT_KIND_LABELS = {"presentation": _l("Presentation half-day"), "training": _l("Training"),
                     "workshop": _l("Workshop"), "meeting": _l("Meeting")}


class JobOfferForm(AudienceFields):
    title = StringField(_l("Job title"), validators=[DataRequired(_l("Give the offer a title.")), Length(max=200)])
    grade = StringField(_l("Grade"), validators=[Optional(), Length(max=120)])
    category = RadioField(_l("Category"), choices=[(c, CATEGORY_LABELS[c]) for c in JOB_CATEGORIES],
                          validators=[DataRequired(_l("Choose the category A, B or C."))])
    time = RadioField(_l("Working time"), choices=[("full", _l("Full time")), ("part", _l("Part time"))],
                      default="full")
    weekly_hours = DecimalField(_l("Hours a week (part time)"), places=2, validators=[Optional(), NumberRange(1, 34.5)])
    commune_insee = StringField(_l("Commune of the job (INSEE code)"),
                                validators=[Optional(), Regexp(r"^(\d{5}|2[AB]\d{3})$",
                                                               message=_l("An INSEE code has 5 characters."))])
    place = StringField(_l("Place of work"), validators=[Optional(), Length(max=200)])
    closes_on = DateField(_l("Closing date"), validators=[DataRequired(_l("Give the closing date of the offer."))])
    description = TextAreaField(_l("Description of the post"), validators=[Optional(), Length(max=20000)])
    contact = TextAreaField(_l("How to apply (contact)"), validators=[Optional(), Length(max=1000)])
    national_url = StringField(_l("Address of the offer on « Choisir le service public » (optional)"),
                               validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Publish the offer"))

    def fields(self) -> dict:
        return dict(title=self.title.data, grade=self.grade.data or "", category=self.category.data,
                    full_time=self.time.data != "part", weekly_hours=self.weekly_hours.data,
                    commune_insee=(self.commune_insee.data or "").strip().upper() or None,
                    place=self.place.data or "", closes_on=self.closes_on.data,
                    description=self.description.data or "", contact=self.contact.data or "",
                    national_url=self.national_url.data or "")


class CloseOfferForm(FlaskForm):
    reason = RadioField(_l("Why does the offer close?"),
                        choices=[("filled", _l("The post is filled")), ("withdrawn", _l("The offer is withdrawn"))],
                        default="filled")
    submit = SubmitField(_l("Close the offer"))


class DirectoryForm(FlaskForm):
    address = TextAreaField(_l("Postal address of the mairie"), validators=[Optional(), Length(max=300)])
    publish_address = BooleanField(_l("Show to residents"))
    opening_hours = TextAreaField(_l("Opening hours"), validators=[Optional(), Length(max=2000)])
    publish_hours = BooleanField(_l("Show to residents"))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), Regexp(
        r"^[0-9 +().-]{6,40}$", message=_l("A phone number has digits, spaces and + only."))])
    publish_phone = BooleanField(_l("Show to residents"))
    email = StringField(_l("E-mail address"), validators=[Optional(), EmailAddress()])
    publish_email = BooleanField(_l("Show to residents"))
    website = StringField(_l("Website (https://…)"), validators=[Optional(), Length(max=300), Regexp(
        r"^https?://[^\s<>\"']+$", message=_l("The address must start with https:// or http://."))])
    publish_website = BooleanField(_l("Show to residents"))
    latitude = FloatField(_l("Latitude of the mairie"), validators=[Optional(), NumberRange(41, 52)])
    longitude = FloatField(_l("Longitude of the mairie"), validators=[Optional(), NumberRange(-6, 10)])
    submit = SubmitField(_l("Save the directory entry"))


class PersonForm(FlaskForm):
    name = StringField(_l("First name and last name"), validators=[DataRequired(_l("Give the name.")),
                                                                  Length(max=200)])
    role = SelectField(_l("Office"), choices=[(r, ROLE_LABELS[r]) for r in PERSON_ROLES], default="councillor")
    delegation = StringField(_l("Delegation (optional)"), validators=[Optional(), Length(max=200)])
    published = BooleanField(_l("Show to residents"))
    submit = SubmitField(_l("Add"))


class EventForm(AudienceFields):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the event a title.")), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[(k, EVENT_KIND_LABELS[k]) for k in EVENT_KINDS])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired(_l("Give the start date and time."))])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M",
                                 validators=[DataRequired(_l("Give the end date and time."))])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    seats = IntegerField(_l("Seats (empty: no limit)"), validators=[Optional(), NumberRange(1, 10000)])
    registration_open = BooleanField(_l("Registration open"), default=True)
    description = TextAreaField(_l("Programme"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Publish the event"))

    def fields(self) -> dict:
        return dict(title=self.title.data, kind=self.kind.data, starts_at=self.starts_at.data,
                    ends_at=self.ends_at.data, place=self.place.data or "", seats=self.seats.data,
                    registration_open=self.registration_open.data, description=self.description.data or "")
