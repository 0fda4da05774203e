"""Translated strings at the cost of a dictionary lookup: Flask-Babel's catalog of the request's locale, looked up
once per request and locale instead of at every string.

Flask-Babel finds the catalog again for each string — of a template (``_()``), of Python (``gettext``) and of each
lazy string (a service's name, a menu entry…) as it is shown: the request's Babel namespace found three times over
Flask's ``g`` proxy, the locale's identifier formatted again as the key of its catalog — some twenty calls before the
catalog is read, for each of the fifty-odd strings of a page. Here the catalog found for the request's domain and
locale is kept beside them in the same namespace, and used again as long as both are the same objects:
``force_locale`` (e-mails in the recipient's language) and ``refresh`` replace the locale object, so the next string
finds its catalog again through Flask-Babel.
"""
from __future__ import annotations

from functools import cached_property

import flask_babel
from flask import g, has_app_context

_KEPT = "portal_translations"  # attribute of Flask-Babel's per-request namespace: (domain, locale, translations)


def _kept(ctx):
    """The catalog kept in Flask-Babel's namespace ``ctx`` when its domain and locale are still the request's."""
    kept = getattr(ctx, _KEPT, None)
    if kept is not None and kept[0] is getattr(ctx, "babel_domain", None) \
            and kept[1] is getattr(ctx, "babel_locale", None):
        return kept[2]
    return None


class Domain(flask_babel.Domain):
    """Flask-Babel's message domain, its catalog kept for the request (see the module's docstring)."""

    def get_translations(self):
        ctx = g.get("_flask_babel") if has_app_context() else None
        found = _kept(ctx) if ctx is not None else None
        if found is not None and ctx.babel_domain is self:
            return found
        found = super().get_translations()  # sets the request's namespace and locale when they are not set yet
        ctx = g.get("_flask_babel") if has_app_context() else None
        locale = getattr(ctx, "babel_locale", None) if ctx is not None else None
        if locale is not None and getattr(ctx, "babel_domain", None) is self:
            setattr(ctx, _KEPT, (self, locale, found))
        return found


class Babel(flask_babel.Babel):
    """Flask-Babel with :class:`Domain` as its default domain."""

    @cached_property
    def domain_instance(self):
        return Domain(domain=self.domain)


def translations():
    """``flask_babel.get_translations()`` for the current domain and locale, kept for the request."""
    ctx = g.get("_flask_babel") if has_app_context() else None
    found = _kept(ctx) if ctx is not None else None
    return found if found is not None else flask_babel.get_translations()


def install(app) -> None:
    """Give the app's Jinja environment these callables in place of Flask-Babel's (same signatures, newstyle)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
