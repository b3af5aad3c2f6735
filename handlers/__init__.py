"""Telegram handlers: thin adapters from updates to the domain in ``bot``."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import admin, chats, errors, fallback, followups, onboarding, report, secretariat


def register_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(ChatMemberHandler(chats.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.group_migrated))
    app.add_handlers(
        [
            CommandHandler("start", onboarding.start, private),
            CommandHandler("help", onboarding.help_command, private),
            CommandHandler("language", onboarding.language_command, private),
            CommandHandler("invite", admin.invite, private),
            CommandHandler("nfps", admin.nfps, private),
            CommandHandler("revoke", admin.revoke, private),
            CallbackQueryHandler(onboarding.language_chosen, r"^lang:"),
            CallbackQueryHandler(admin.invite_country_chosen, r"^invc:"),
            CallbackQueryHandler(admin.invite_kind_chosen, r"^inv:"),
            CallbackQueryHandler(admin.revoke_chosen, r"^rvy?:[ai]:"),
            CallbackQueryHandler(admin.revoke_cancelled, r"^rvn$"),
            CommandHandler("report", report.report_command, private),
            CallbackQueryHandler(report.button, r"^r:"),
            CallbackQueryHandler(report.open_from_button, r"^r[stc]:"),
            CommandHandler("status", secretariat.status, private),
            CommandHandler("remind", secretariat.remind, private),
            CommandHandler("clarify", secretariat.clarify, private),
            CommandHandler("revise", followups.revise, private),
            CommandHandler("delegate", followups.delegate, private),
            CallbackQueryHandler(followups.clarification_answer_button, r"^cq:\d+$"),
            CallbackQueryHandler(followups.revise_week_chosen, r"^rvw:"),
            CallbackQueryHandler(followups.revise_field_chosen, r"^rvf:"),
            CallbackQueryHandler(followups.delegate_person_chosen, r"^dg:"),
            CallbackQueryHandler(followups.delegate_until_chosen, r"^dgu:"),
            # fallbacks last: within a group the first matching handler wins
            MessageHandler(filters.COMMAND & private, fallback.unknown_command),
            MessageHandler(filters.TEXT & private, report.text),
            MessageHandler(
                private & ~filters.TEXT & ~filters.StatusUpdate.ALL, fallback.unsupported_message
            ),
            CallbackQueryHandler(fallback.stale_button),
        ]
    )
    app.add_error_handler(errors.on_error)
