"""E-mails of the tenders service, through the portal's outbox (sent after the commit, retried by the worker).

The text is built here from lazy msgids (this catalog's), rendered in French by ``queue_email``; the template only
lays the lines out (babel.cfg extracts .txt templates of the portal only)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.mail import queue_email
from portal.urls import absolute_url


def question_to_buyer(t, q) -> None:
    """A company asked a question: tell the buyer (never the company's address)."""
    if not t.contact_email:
        return
    link = absolute_url("tenders.summary", tender_id=t.id, _anchor="questions")
    lines = [_l("Hello,"), "",
             _l("A company asked a question about your consultation « %(title)s » (%(ref)s):", title=t.title,
                ref=t.reference), "", q.question, "",
             _l("Answer it from the summary of the consultation; the answer is published to all companies, without "
                "the name of the person who asked:"), "", link]
    queue_email(t.contact_email, _l("New question on the consultation %(ref)s", ref=t.reference),
                "tenders/message", lines=lines)


def answer_to_company(t, q) -> None:
    link = absolute_url("tenders_public.detail", tender_id=t.id, _anchor="questions")
    lines = [_l("Hello,"), "",
             _l("The buyer answered your question about the consultation « %(title)s » (%(buyer)s).", title=t.title,
                buyer=t.collectivity.name), "",
             _l("Your question:"), q.question, "", _l("The answer:"), q.answer, "",
             _l("The answer is also published on the page of the consultation, for all companies:"), link]
    queue_email(q.email, _l("Answer to your question: %(title)s", title=t.title[:80]), "tenders/message",
                lines=lines)


def ended_to_askers(t) -> None:
    """The procedure ended without a contract: tell each company that asked a question (once per address)."""
    from .ending import legal_mention

    link = absolute_url("tenders_public.detail", tender_id=t.id)
    for email in sorted({q.email for q in t.questions}):
        lines = [_l("Hello,"), "",
                 _l("The buyer ended the consultation « %(title)s » (%(buyer)s) without awarding a contract:",
                    title=t.title, buyer=t.collectivity.name), "", legal_mention(t), "",
                 _l("The decision is published on the page of the consultation:"), link]
        queue_email(email, _l("End of the consultation: %(title)s", title=t.title[:80]), "tenders/message",
                    lines=lines)
