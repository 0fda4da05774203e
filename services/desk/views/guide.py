"""The user guide (« Aide », ``/p/desk/aide``): open to everyone (it holds no data, and people look for help before
signing in too), one page with every section, and its PDF. The « Aide » link of every page comes from here
(``help_url``, a template global of the app given by this blueprint)."""
from __future__ import annotations

from flask import render_template

from portal.responses import pdf_response

from .. import guide
from .public import public_bp


@public_bp.app_context_processor
def _help_link():
    return {"help_url": guide.help_url}


def _render(template: str, *, for_pdf: bool) -> str:
    def shot_src(name: str) -> str:
        if for_pdf:  # WeasyPrint reads the file of the repository, not the web server
            return (guide.SHOTS_DIR / name).as_uri()
        from flask import url_for

        return url_for("desk_public.static", filename=f"desk/guide/{name}")

    return render_template(template, sections=guide.SECTIONS, shots=guide.shots, shot_src=shot_src)


@public_bp.get("/aide")
def guide_page():
    return _render("desk/guide/index.html", for_pdf=False)


@public_bp.get("/aide.pdf")
def guide_pdf():
    from weasyprint import CSS, HTML

    pdf = HTML(string=_render("desk/guide/print.html", for_pdf=True), base_url=str(guide.STATIC)).write_pdf(
        stylesheets=[CSS(filename=str(guide.STATIC / "desk" / "guide-print.css"))])
    return pdf_response(pdf, "guide-extranet.pdf")
