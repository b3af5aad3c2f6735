"""Telegram handlers: thin adapters from updates to the domain in ``bot``."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.core import callbacks as cb
from bot.wiring.context import BotApplication
from handlers import (
    admin,
    chats,
    digest,
    errors,
    exports,
    fallback,
    followups,
    guidance,
    onboarding,
    report,
    secretariat,
)

# Callback data is routed by its bot.core.callbacks class's pattern (pairwise disjoint) and parsed
# with bounds by handlers.common.on_callback; a shape no class knows (forged, or from an old
# version) falls through to ``fallback.stale_button``, which answers it. What the data names
# is checked again by the domain.


def register_handlers(app: BotApplication) -> None:
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
            CallbackQueryHandler(onboarding.language_chosen, cb.Language.pattern()),
            CallbackQueryHandler(admin.invite_country_chosen, cb.InviteCountry.pattern()),
            CallbackQueryHandler(admin.invite_kind_chosen, cb.InviteKind.pattern()),
            CallbackQueryHandler(admin.revoke_chosen, cb.RevokeAsk.pattern()),
            CallbackQueryHandler(admin.revoke_confirmed, cb.RevokeConfirm.pattern()),
            CallbackQueryHandler(admin.revoke_cancelled, cb.RevokeCancel.pattern()),
            CommandHandler("report", report.report_command, private),
            CallbackQueryHandler(report.button, cb.ReportButton.pattern()),
            CallbackQueryHandler(report.open_from_prompt, cb.OpenReport.pattern()),
            CallbackQueryHandler(report.take_over, cb.TakeOver.pattern()),
            CallbackQueryHandler(report.pick_country, cb.PickCountry.pattern()),
            CommandHandler("status", secretariat.status, private),
            CommandHandler("remind", secretariat.remind, private),
            CommandHandler("clarify", secretariat.clarify, private),
            CommandHandler("export", exports.export, private),
            CommandHandler("digest", digest.digest, private),
            CommandHandler("revise", followups.revise, private),
            CommandHandler("delegate", followups.delegate, private),
            CallbackQueryHandler(
                followups.clarification_answer_button, cb.AnswerClarification.pattern()
            ),
            CallbackQueryHandler(followups.revise_week_chosen, cb.ReviseWeek.pattern()),
            CallbackQueryHandler(followups.revise_field_chosen, cb.ReviseField.pattern()),
            CallbackQueryHandler(followups.delegate_person_chosen, cb.DelegateTo.pattern()),
            CallbackQueryHandler(followups.delegate_until_chosen, cb.DelegateFor.pattern()),
            CallbackQueryHandler(chats.move_digest, cb.MoveDigest.pattern()),
            CallbackQueryHandler(chats.keep_digest, cb.KeepDigest.pattern()),
            CommandHandler("guidance", guidance.guidance, private),
            CommandHandler("subscribe", guidance.subscribe, private),
            CommandHandler("unsubscribe", guidance.unsubscribe, private),
            CommandHandler("addguidance", guidance.add_guidance, private),
            CommandHandler("forget_me", guidance.forget_me, private),
            MessageHandler(filters.Document.ALL & private, guidance.document),
            *(
                CallbackQueryHandler(handler, kind.pattern())
                for kind, handler in guidance.BUTTONS.items()
            ),
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
