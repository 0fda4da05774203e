"""Tables of the information desk.

Ownership (DESIGN.md §2, §6): news items have no place; each is addressed to an audience and published by an
organisation (``portal.audiences.AudienceScoped``), so the audience filter narrows every query on them. Read marks and
digest choices belong to one person (``user_id``) and are only ever read for the signed-in user or by the digest task.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.audiences import AudienceScoped, DepartmentScoped, ViewerGuarded
from portal.extensions import db
from portal.models import utcnow

from .sanitize import text_of

DIGEST_FREQUENCIES = ("never", "daily", "weekly")


class NewsItem(AudienceScoped, db.Model):
    """A short dated message on the home page. ``body_html`` is stored already sanitised (``sanitize.clean``)."""

    __tablename__ = "desk_news"
    __table_args__ = (Index("ix_desk_news_pinned_published", "pinned", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The optional document: a link (to a legal text, a circular on the prefecture's site…) and its title.
    document_url: Mapped[str] = mapped_column(String(500), default="")
    document_title: Mapped[str] = mapped_column(String(200), default="")

    author = relationship("User")

    @property
    def body_text(self) -> str:
        """The message as plain text (e-mails, search)."""
        return text_of(self.body_html)


class NewsRead(db.Model):
    """One person has read one news item."""

    __tablename__ = "desk_news_read"
    __table_args__ = (UniqueConstraint("user_id", "news_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    news_id: Mapped[int] = mapped_column(ForeignKey("desk_news.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DigestChoice(db.Model):
    """How often one person wants the e-mail digest of the news, and when it last went."""

    __tablename__ = "desk_digest_choice"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(8), default="weekly")
    last_sent_at: Mapped[dt.datetime | None]
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Forum ---------------------------------------------------------------------------------------------------------------
# Threads are addressed to an audience like news (``all`` when a member opens one: secretaries, elected officials,
# the department and partners); posts follow their thread and are only ever reached through it (access.py) —
# on PostgreSQL their policy says the same (desk_0018_forum_post_rls: whoever reads the thread, the author's
# collectivity, the moderators).


class ForumCategory(DepartmentScoped, db.Model):
    """A section of the forum (état civil, urbanisme, élections…), set by a department team for its département
    (``department_code``; NULL: a category of the whole platform, written in the system context only). The audience
    filter shows each viewer its département's categories and the platform's (``portal.audiences.DepartmentScoped``).
    """

    __tablename__ = "desk_forum_category"
    __table_args__ = (UniqueConstraint("department_code", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)


class ForumThread(AudienceScoped, db.Model):
    __tablename__ = "desk_forum_thread"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("desk_forum_category.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_post_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    locked: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)  # by the department's moderation
    # The answer marked as the solution (a post of this thread; no foreign key: the two tables would point at each
    # other, and posts are hidden by moderation, never deleted).
    solution_post_id: Mapped[int | None]

    category = relationship(ForumCategory)
    author = relationship("User")


class ForumPost(ViewerGuarded, db.Model):
    """A message of a thread (the first one is the question). ``body_html`` is stored sanitised."""

    __tablename__ = "desk_forum_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("desk_forum_thread.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"))  # the author's organisation
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    hidden: Mapped[bool] = mapped_column(default=False)

    author = relationship("User")
    collectivity = relationship("Collectivity")

    @property
    def body_text(self) -> str:
        return text_of(self.body_html)


class ForumFollow(db.Model):
    """One person follows one thread: an e-mail at each answer."""

    __tablename__ = "desk_forum_follow"
    __table_args__ = (UniqueConstraint("user_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("desk_forum_thread.id", ondelete="CASCADE"), index=True)


class ForumReport(db.Model):
    """A message reported to the department's moderators."""

    __tablename__ = "desk_forum_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("desk_forum_post.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]

    post = relationship(ForumPost)
    user = relationship("User")


class SearchEntry(AudienceScoped, db.Model):
    """One searchable item (a news item, a forum thread with its visible messages) as plain text, addressed to the
    same audience as the item itself: the audience filter narrows search results like any other query.

    The full-text index beside it is per backend (``search.py``): on PostgreSQL a GIN index on the French
    ``tsvector`` (unaccented) of title and body; on SQLite the FTS5 table ``desk_search_fts`` (rowid = this id)."""

    __tablename__ = "desk_search"
    __table_args__ = (UniqueConstraint("kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # news, thread
    ref_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
