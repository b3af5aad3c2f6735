"""``/export`` in Telegram: an admin gets the file as a document; others are refused."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from bot.digest import demo
from tests.digest.support import read_truth
from tests.support import BotEnv


async def _seed(env: BotEnv) -> None:
    region = env.config.region("central-asia")
    await demo.load(env.svc.db, env.config, region, demo.read_csv(demo.default_csv()))


async def test_an_admin_gets_the_reports_as_an_xlsx_document(env: BotEnv) -> None:
    await _seed(env)
    admin = env.admin()
    sent = await env.say(admin, "/export 2020-W10 2020-W30 xlsx")
    assert sent.method == "sendDocument"
    assert sent.filename == "reports_2020-W10_2020-W30.xlsx"
    assert sent.text == "168 reports, weeks 2020-W10 to 2020-W30"
    assert sent.document_bytes is not None
    sheet = load_workbook(io.BytesIO(sent.document_bytes)).active
    assert sheet is not None and sheet.max_row == 1 + 8 * 21
    assert sheet.cell(2, 4).value == "2020-W10" and sheet.cell(2, 5).value == 3  # AFG's cases


async def test_export_defaults_to_csv_and_refuses_what_it_cannot_read(env: BotEnv) -> None:
    await _seed(env)
    admin = env.admin()
    sent = await env.say(admin, "/export 2020-W29 2020-W30")
    assert sent.filename == "reports_2020-W29_2020-W30.csv"
    assert sent.document_bytes is not None
    rows = list(csv.DictReader(io.StringIO(sent.document_bytes.decode("utf-8-sig"))))
    truth = read_truth()
    assert {(r["iso3"], r["week"]): int(r["new_cases"]) for r in rows} == {
        k: v[0] for k, v in truth.items() if k[1] in ("2020-W29", "2020-W30")
    }
    for bad in ("/export 2020-W30 2020-W10", "/export pdf", "/export 1 2 3"):
        usage = await env.say(admin, bad)
        assert usage.method == "sendMessage" and usage.text.startswith("Usage: /export"), bad


async def test_export_is_for_admins_only(env: BotEnv) -> None:
    await _seed(env)
    someone = env.sandbox.user(4242, "Curious")
    refused = await env.say(someone, "/export 2020-W10 2020-W30")
    assert refused.method == "sendMessage" and refused.document_bytes is None
