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


def confirm_company(company, link: str) -> None:
    """A company created its account on the public pages: the link that confirms its address."""
    lines = [_l("Hello,"), "",
             _l("An account of the company %(name)s was created with this address on the public tenders pages. "
                "Open this link within 48 hours to confirm it:", name=company.name), "", link, "",
             _l("If you did not ask for it, ignore this message: nothing will be done.")]
    queue_email(company.email, _l("Confirm your company account"), "tenders/message", lines=lines)


def letter_to_company(t, lot, bid, rejected: bool) -> None:
    """Tell a company the decision on a lot: the letter (rejection with reasons and scores, or notification) is on
    its page of the consultation, signed in."""
    from portal.urls import absolute_url

    link = absolute_url("tenders_public.letter", tender_id=t.id, lot_number=lot.number)
    if rejected:
        subject = _l("Your offer was not retained: %(title)s", title=t.title[:80])
        body = _l("The buyer %(buyer)s has taken its decision on the consultation « %(title)s », lot %(lot)s: your "
                  "offer was not retained. The letter gives the reasons, your scores and those of the winner, and "
                  "the standstill period where it applies.", buyer=t.collectivity.name, title=t.title,
                  lot=lot.number)
    else:
        subject = _l("Notification of the contract: %(title)s", title=t.title[:80])
        body = _l("The buyer %(buyer)s notifies you the contract « %(title)s », lot %(lot)s: your offer is "
                  "retained.", buyer=t.collectivity.name, title=t.title, lot=lot.number)
    queue_email(bid.company.email, subject, "tenders/message",
                lines=[_l("Hello,"), "", body, "", _l("Your letter (PDF), while you are signed in:"), link])
