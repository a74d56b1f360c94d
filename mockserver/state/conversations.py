"""The conversation backend: what Dify's ConversationService and MessageService do to a tenant's store,
shared by every surface that lists, renames or deletes conversations. Owners are the app (its key)
and the end user (the `user` string; DEFAULT-USER when none). Facts read at dify 1.12.0, 1.14.2 and
1.16.1 (services/conversation_service.py, message_service.py); /work/research/conversations.md."""

from __future__ import annotations

from typing import Any, Final

from msgspec import Struct

from mockserver.errors import DifyError
from mockserver.state import pagination
from mockserver.state.pagination import Page
from mockserver.state.records import Conversation, Message
from mockserver.state.store import Store

DEFAULT_USER: Final = "DEFAULT-USER"
LAST_MISSING: Final = "Last Conversation Not Exists."
FIRST_MISSING: Final = "First Message Not Exists."


def initial_name(query: str) -> str:
    """The name a conversation starts with: the query cut to 20 characters and an ellipsis."""
    if not query:
        return "New conversation"
    return query[:20] + "…" if len(query) > 20 else query


def generated_name(query: str) -> str:
    """The mock's stand-in for Dify's LLM-made title: Dify's own fallback when the model fails (the
    query, cut to 47 characters and '...' past 50), so the name is deterministic."""
    return query[:47] + "..." if len(query) > 50 else query


class Conversations(Struct, eq=False):
    """The conversation backend over one tenant's store: what ConversationService and MessageService do."""

    store: Store

    def find(self, conversation_id: str, app: str, user: str) -> Conversation:
        """ConversationService.get_conversation: the end user's own, live conversation of this app."""
        return self.store.conversations.require(conversation_id, app=app, user=user)

    def start(self, conversation: Conversation) -> Conversation:
        conversation.updated_seq = self.store.tick()
        return self.store.conversations.add(conversation)

    def add_message(self, conversation: Conversation, message: Message, now: int) -> None:
        """A new turn: the message is stored and the conversation counts as updated when it began."""
        self.store.add_message(message)
        conversation.updated_at = now
        conversation.updated_seq = self.store.tick()

    def page(self, app: str, user: str, last_id: str | None, limit: int, sort_by: str) -> Page:
        field = sort_by.lstrip("-")
        rows = self.store.conversations.where(app=app, user=user)
        seq = "created_seq" if field == "created_at" else "updated_seq"
        return pagination.by_last_id(
            rows, lambda c: (getattr(c, field), getattr(c, seq)), sort_by.startswith("-"), last_id, limit, LAST_MISSING
        )

    def messages(self, conversation: Conversation) -> list[Message]:
        return list(self.store.threads.get(conversation.id, ()))

    def message_page(self, conversation: Conversation, first_id: str | None, limit: int) -> Page:
        rows = self.messages(conversation)
        return pagination.by_first_id(rows, lambda m: (m.created_at, m.created_seq), first_id, limit, FIRST_MISSING)

    def new_name(self, conversation: Conversation, name: str | None, auto: bool) -> str:
        """The name a rename gives: `name` as sent (not stripped), or one made from the first message."""
        if not auto:
            return name or ""
        first = min(self.messages(conversation), key=lambda m: (m.created_at, m.created_seq), default=None)
        if first is None:
            # MessageNotExistsError() escapes the controller as a bare ValueError: an empty message.
            raise DifyError("invalid_param", "")
        return generated_name(first.query)

    @staticmethod
    def renames(conversation: Conversation, name: str, auto: bool) -> bool:
        """A manual rename always updates; a generated name that changes nothing updates nothing."""
        return not (auto and name == conversation.name)

    def rename(self, conversation: Conversation, name: str, now: int, auto: bool) -> None:
        if not self.renames(conversation, name, auto):
            return
        conversation.name = name
        conversation.updated_at = now
        conversation.updated_seq = self.store.tick()

    def delete(self, conversation: Conversation, soft: bool) -> None:
        """1.16 marks it deleted and its cleanup task removes the messages (and their files' links);
        earlier releases remove the row, the messages with it. Either way every read misses it."""
        if soft:
            conversation.deleted = True
            self.store.drop_thread(conversation)
        else:
            self.store.conversations.remove(conversation.id)

    def owned_anywhere(self, conversation_id: str) -> Any:
        """1.12's delete looks the id up without owner: any app's, any user's conversation."""
        return self.store.conversations.get(conversation_id)
