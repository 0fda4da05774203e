"""The templates' ``_()``, ``ngettext()``, ``pgettext()`` and ``npgettext()``: Flask-Babel's translations, looked up
once per request and locale instead of at every string.

Flask-Babel gives Jinja ``get_translations().ugettext(s)`` for each string of a template: the request's Babel
namespace found three times over Flask's ``g`` proxy, the locale's identifier formatted again as the key of its
catalog — some twenty calls before the catalog is read, for each of the fifty-odd strings of a page. Here the
catalog found for the request's locale is kept beside that locale in the same namespace, and used again as long as
the locale is the same object: ``force_locale`` (e-mails in the recipient's language) and ``refresh`` replace the
locale object, so the next string finds its catalog again through Flask-Babel.
"""
from __future__ import annotations

from flask import g, has_app_context
from flask_babel import get_translations

_KEPT = "portal_translations"  # attribute of Flask-Babel's per-request namespace: (locale, translations)


def translations():
    """``flask_babel.get_translations()`` for the current locale, kept for the request."""
    if not has_app_context():
        return get_translations()
    ctx = g.get("_flask_babel")
    if ctx is not None:
        kept = getattr(ctx, _KEPT, None)
        if kept is not None and kept[0] is getattr(ctx, "babel_locale", None):
            return kept[1]
    found = get_translations()  # sets the request's namespace and locale when they are not set yet
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None) if ctx is not None else None
    if locale is not None:
        setattr(ctx, _KEPT, (locale, found))
    return found


def install(app) -> None:
    """Give the app's Jinja environment these callables in place of Flask-Babel's (same signatures, newstyle)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
