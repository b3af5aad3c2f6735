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

# Callback data is checked by shape here (a forged or outdated shape falls through to
# ``fallback.stale_button``); what it names is checked again by the domain.
ISO3 = "[A-Z]{3}"
WEEK = r"\d{4}-W\d{2}"


def register_handlers(app: Application) -> None:
    # An edit reaches every handler whose filters look at ``effective_message`` (commands
    # too): only ``report.edited`` sees edits, so an edit never answers another question
    # and an edited command never runs again.
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    app.add_handler(ChatMemberHandler(chats.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.group_migrated))
    app.add_handlers(
        [
            MessageHandler(
                filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, report.edited
            ),
            CommandHandler("start", onboarding.start, private),
            CommandHandler("help", onboarding.help_command, private),
            CommandHandler("language", onboarding.language_command, private),
            CommandHandler("invite", admin.invite, private),
            CommandHandler("nfps", admin.nfps, private),
            CommandHandler("revoke", admin.revoke, private),
            CallbackQueryHandler(onboarding.language_chosen, r"^lang:[a-z]{2}$"),
            CallbackQueryHandler(admin.invite_country_chosen, rf"^invc:{ISO3}$"),
            CallbackQueryHandler(admin.invite_kind_chosen, rf"^inv:{ISO3}:(main|alternate)$"),
            CallbackQueryHandler(admin.revoke_chosen, r"^rvy?:(a:\d+|i:[\w-]+)$"),
            CallbackQueryHandler(admin.revoke_cancelled, r"^rvn$"),
            CommandHandler("report", report.report_command, private),
            CallbackQueryHandler(report.button, r"^r:\d+:[a-z!]+(:\w+)?$"),
            CallbackQueryHandler(
                report.open_from_button, rf"^(r[st]:{ISO3}:{WEEK}|rc:{ISO3}(:last)?)$"
            ),
            CommandHandler("status", secretariat.status, private),
            CommandHandler("remind", secretariat.remind, private),
            CommandHandler("clarify", secretariat.clarify, private),
            CommandHandler("revise", followups.revise, private),
            CommandHandler("delegate", followups.delegate, private),
            CallbackQueryHandler(followups.clarification_answer_button, r"^cq:\d+$"),
            CallbackQueryHandler(followups.revise_week_chosen, rf"^rvw:{ISO3}:{WEEK}$"),
            CallbackQueryHandler(followups.revise_field_chosen, rf"^rvf:{ISO3}:{WEEK}:\w+$"),
            CallbackQueryHandler(followups.delegate_person_chosen, rf"^dg:{ISO3}:\d+$"),
            CallbackQueryHandler(followups.delegate_until_chosen, rf"^dgu:{ISO3}:\d+:\d+$"),
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
