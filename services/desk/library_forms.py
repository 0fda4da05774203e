"""Forms of the documents library and of the fiches juridiques (Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .library import EVERYONE, MEMBERS, OWN
from .library_models import DOCUMENT_CATEGORIES, SHEET_THEMES
from .schemas import AudienceFields

CATEGORY_LABELS = {"compte_rendu": _l("Minutes of a meeting"), "deliberation": _l("Deliberation"),
                   "circulaire": _l("Circular"), "arrete": _l("Order (arrêté)"), "autre": _l("Other document")}
THEME_LABELS = {"etat_civil": _l("Civil status"), "urbanisme": _l("Town planning"), "elections": _l("Elections"),
                "marches": _l("Public procurement"), "funeraire": _l("Funeral matters"),
                "rh": _l("Human resources"), "finances": _l("Finance and budget"), "police": _l("Mayor's police"),
                "autre": _l("Other subjects")}
READER_LABELS = {OWN: _l("Our organisation only"), MEMBERS: _l("The members of our EPCI"),
                 EVERYONE: _l("Everyone in the portal")}
ACCEPTED = _l("PDF, Word or LibreOffice text or spreadsheet, JPEG or PNG image; at most %(mb)s MB.")

assert set(CATEGORY_LABELS) == set(DOCUMENT_CATEGORIES) and set(THEME_LABELS) == set(SHEET_THEMES)


class FolderForm(FlaskForm):
    name = StringField(_l("Name of the folder"), validators=[DataRequired(_l("Give the folder a name.")),
                                                             Length(max=120)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=300)])
    readers = RadioField(_l("Who may read it"), choices=list(READER_LABELS.items()), default=OWN)
    submit = SubmitField(_l("Save the folder"))


class DocumentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the document a title.")), Length(max=200)])
    category = SelectField(_l("Kind of document"), choices=list(CATEGORY_LABELS.items()), default="deliberation")
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    file = FileField(_l("File"))
    submit = SubmitField(_l("Add the document"))


class DocumentEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the document a title.")), Length(max=200)])
    category = SelectField(_l("Kind of document"), choices=list(CATEGORY_LABELS.items()))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    folder = SelectField(_l("Folder"), coerce=int, choices=[])
    submit = SubmitField(_l("Save"))


class VersionForm(FlaskForm):
    file = FileField(_l("New version of the file"))
    note = StringField(_l("What changed"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Upload the new version"))


class SheetForm(AudienceFields):
    theme = SelectField(_l("Theme"), choices=list(THEME_LABELS.items()))
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the fiche a title.")), Length(max=200)])
    body = TextAreaField(_l("Text of the fiche"), validators=[DataRequired(_l("Write the fiche's text.")),
                                                               Length(max=100_000)])
    legal_refs = TextAreaField(_l("Legal references (one a line)"), validators=[Optional(), Length(max=5000)])
    updated_on = DateField(_l("Updated on"), validators=[Optional()])
    change_note = StringField(_l("What changed (shown in the history)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Publish"))


class ModelForm(FlaskForm):
    file = FileField(_l("Model document (.docx or .odt)"))
    submit = SubmitField(_l("Attach"))
