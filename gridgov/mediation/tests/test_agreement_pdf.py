"""The mediation agreement (人民调解协议书) and the hand-over record as PDF: what the parties sign and what the
judicial office or the court receives. Every page is rendered to PNG (test-artifacts/mediation/ and
/tmp/shots/mediation-pdf/) and read back: the Chinese text is there, the font is embedded, no page is blank,
and no character comes out as an empty .notdef glyph."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone, translation

from gridgov.core.choices import label
from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.personal import ID_NUMBER, PHONE, blind_index, encrypt_text
from gridgov.mediation import agreement_pdf as ap
from gridgov.mediation.agreement_pdf import (
    MissingGlyphs,
    PdfFonts,
    agreement_pdf,
    amount_in_words,
    missing_glyphs,
    pdf_fonts,
    record_pdf,
    split_terms,
)
from gridgov.mediation.choices import (
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Outcome,
    PartyRole,
)
from gridgov.mediation.models import (
    Agreement,
    Committee,
    Dispute,
    DisputeEvent,
    FollowUp,
    Mediator,
    Party,
    Session,
)
from gridgov.registry.models import Person

pdfium = pytest.importorskip("pypdfium2")

SHOTS = (Path(settings.PROJECT_DIR) / "test-artifacts" / "mediation", Path("/tmp/shots/mediation-pdf"))  # noqa: S108
DPI = 110

needs_cjk_font = pytest.mark.skipif(
    not pdf_fonts().embedded, reason="needs a CJK TrueType font: apt-get install fonts-wqy-microhei"
)

APPLICANT_ID = "150621196804120011"  # male, born April 1968 (GB 11643 check digit right)
RESPONDENT_ID = "150621197509230028"  # female, born September 1975

TERMS = [
    "乙方巴图孟和承认其放养的羊群于2026年5月至6月间多次越界进入甲方张福生承包的草场及相邻玉米地，"
    "造成牧草和青苗损失。双方共同确认损失面积约十二亩，参照旗农牧局公布的当年补偿标准，乙方一次性赔偿"
    "甲方各项损失共计人民币壹万贰仟伍佰元整（12,500.00元）。",
    "双方同意以2019年草原承包经营权确权登记时所附的四至图为准，由嘎查委员会会同镇司法所、农牧业综合"
    "服务站于2026年7月15日前在两户草场交界处重新测定界线，并由双方共同出资设置网围栏，费用各承担一半，"
    "网围栏建成后由各自一侧的承包户负责日常维护。",
    "乙方保证今后加强对羊群的看管，放牧时安排专人跟群，不得再越界放牧；如再次发生越界放牧造成损失的，"
    "由乙方按实际损失照价赔偿，并承担由此产生的测量、评估等全部费用。",
    "甲方不得以任何方式阻挠乙方羊群通过双方约定的饮水通道前往嘎查公共饮水点，饮水通道宽度为六米，"
    "位置以嘎查委员会现场标注为准，双方均不得在通道内堆放草料、停放车辆或设置障碍。",
    "双方就本次纠纷再无其他争议。任何一方不得就本协议已经解决的事项再向对方主张任何权利，"
    "亦不得借故寻衅滋事、上访缠访；一方违反本协议的，另一方可以申请人民调解委员会督促履行，"
    "也可以依法向人民法院提起诉讼。",
    "本协议未尽事宜，由双方在嘎查人民调解委员会主持下另行协商解决，协商结果作为本协议的补充，"
    "与本协议具有同等效力。",
]


# --------------------------------------------------------------------------------------------- the world


def _person(grid, name, number, **fields):
    from gridgov.core.personal import DOCUMENT

    person = Person(
        name=name,
        document_enc=encrypt_text(number, DOCUMENT),
        document_index=blind_index(number, DOCUMENT),
        document_masked=mask_id_number(number),
        **fields,
    )
    person.place_in(grid)
    person.save()
    return person


def _party(dispute, role, name, *, number="", phone="", person=None, address="", note=""):
    return Party.objects.create(
        dispute=dispute,
        role=role,
        name=name,
        person=person,
        id_number_enc=encrypt_text(number, ID_NUMBER),
        id_number_index=blind_index(number, ID_NUMBER) if number else "",
        id_number_masked=mask_id_number(number) if number else "",
        phone_enc=encrypt_text(phone, PHONE),
        phone_index=blind_index(phone) if phone else "",
        phone_masked=mask_phone(phone) if phone else "",
        address=address,
        note=note,
    )


@pytest.fixture
def case(small_tree, make_user):
    """A grassland dispute in grid 150621100200001 settled by the town's committee, with two parties (one known
    to the registry, one by her ID number only), two mediators, two sessions, an agreement of six long terms,
    a follow-up visit made and one due, and its timeline."""
    grids = small_tree
    grid, town = grids["150621100200001"], grids["150621100"]
    clerk = make_user("clerk", full_name="李文静")
    committee = Committee(name="镇1人民调解委员会", level=1, address="镇1政府院内", phone="0477-5123456")
    committee.place_in(town)
    committee.save()
    lead = Mediator.objects.create(committee=committee, name="王建国", kind="retired_cadre", gender="1")
    helper = Mediator.objects.create(committee=committee, name="乌云其木格", kind="elder", gender="2")
    received = timezone.make_aware(dt.datetime(2026, 6, 20, 9, 30))
    dispute = Dispute(
        number="T20260620-0003",
        kind="land",
        title="张福生与巴图孟和草场越界放牧纠纷",
        description=(
            "申请人张福生与被申请人巴图孟和系同一嘎查相邻牧户，两户承包草场相连。2026年5月以来，被申请人"
            "放养的羊群多次越过两户草场交界进入申请人的草场和玉米地，啃食牧草、踩踏青苗。申请人多次交涉未果，"
            "双方于6月18日发生口角，申请人向网格员反映并申请调解。\n"
            "争议事项：一是损失数额及赔偿；二是两户草场界线的认定；三是羊群前往公共饮水点的通道。"
        ),
        amount=Decimal("15000.00"),
        risk="medium",
        state=DisputeState.SETTLED,
        address="镇1村1-1三社草场",
        committee=committee,
        level=1,
        lead_mediator=lead,
        received_at=received,
        received_by=clerk,
        settled_at=received + dt.timedelta(days=8),
        settled_level=1,
    )
    dispute.place_in(grid)
    dispute.save()
    dispute.assistants.set([helper])
    zhang = _person(
        grid, "张福生", APPLICANT_ID, gender="1", ethnicity="01", birth_date=dt.date(1968, 4, 12),
        address="镇1村1-1三社12号",
    )  # fmt: skip
    applicant = _party(
        dispute, PartyRole.APPLICANT, "张福生", number=APPLICANT_ID, phone="13947712345", person=zhang
    )
    respondent = _party(
        dispute, PartyRole.RESPONDENT, "巴图孟和", number=RESPONDENT_ID, phone="15804771234",
        address="镇1村1-1三社20号", note="蒙古语为主，调解时请乌云其木格协助翻译",
    )  # fmt: skip
    sessions = []
    for day, notes in (
        (
            22,
            "调解员分别听取双方陈述，察看了受损草场和玉米地，拍照留存。双方对越界事实无异议，对损失数额分歧较大。",
        ),
        (28, "经嘎查委员会、镇司法所现场核实，双方在调解员主持下就赔偿数额、界线和饮水通道达成一致。"),
    ):
        session = Session.objects.create(
            dispute=dispute,
            held_at=timezone.make_aware(dt.datetime(2026, 6, day, 15, 0)),
            place="嘎查党群服务中心调解室",
            others_present="嘎查委员会主任 额尔敦",
            notes=notes,
            next_steps="核实损失面积" if day == 22 else "",
            created_by=clerk,
        )
        session.mediators.set([lead, helper])
        session.parties_present.set([applicant, respondent])
        sessions.append(session)
    agreement = Agreement.objects.create(
        dispute=dispute,
        outcome=Outcome.AGREEMENT,
        number=dispute.number,
        terms="\n".join(TERMS),
        amount=Decimal("12500.00"),
        performance_method="赔偿款由乙方于协议签订之日起十日内一次性转入甲方本人银行账户，或在调解委员会当面交付现金并由甲方出具收条。",
        performance_due=dt.date(2026, 7, 8),
        signed_on=dt.date(2026, 6, 28),
        committee=committee,
        level=1,
        created_by=clerk,
    )
    FollowUp.objects.create(
        dispute=dispute,
        due_on=dt.date(2026, 7, 5),
        done_at=timezone.make_aware(dt.datetime(2026, 7, 6, 10, 0)),
        visitor=clerk,
        result=FollowUpResult.PERFORMED,
        note="赔偿款已于7月3日全部付清，双方关系缓和。",
    )
    FollowUp.objects.create(dispute=dispute, due_on=dt.date(2026, 7, 28))
    for action, at, frm, to, note in (
        (EventAction.RECEIVED, received, "", DisputeState.RECEIVED, ""),
        (EventAction.ASSIGNED, received + dt.timedelta(hours=2), DisputeState.RECEIVED, DisputeState.ASSIGNED, ""),
        (EventAction.SESSION, sessions[0].held_at, DisputeState.ASSIGNED, DisputeState.MEDIATING, ""),
        (EventAction.SESSION, sessions[1].held_at, DisputeState.MEDIATING, DisputeState.MEDIATING, ""),
        (EventAction.OUTCOME, sessions[1].held_at + dt.timedelta(hours=2), DisputeState.MEDIATING, DisputeState.SETTLED, ""),
        (EventAction.FOLLOW_UP, timezone.make_aware(dt.datetime(2026, 7, 6, 10, 0)), DisputeState.SETTLED, DisputeState.SETTLED, "已履行"),
    ):  # fmt: skip
        DisputeEvent.objects.create(
            dispute=dispute,
            action=action,
            actor=clerk,
            from_state=frm,
            to_state=to,
            level=1,
            at=at,
            note=note,
        )
    return SimpleNamespace(
        dispute=dispute,
        agreement=agreement,
        applicant=applicant,
        respondent=respondent,
        committee=committee,
        lead=lead,
        helper=helper,
        clerk=clerk,
        sessions=sessions,
        grids=grids,
    )


# ----------------------------------------------------------------------------------------------- reading


def _pages(pdf: bytes, name: str) -> list[tuple[str, object]]:
    """(text, image) of every page, the images saved as <name>-<n>.png where people look at them."""
    for folder in SHOTS:
        for old in folder.glob(f"{name}-*.png"):
            old.unlink()
    doc = pdfium.PdfDocument(pdf)
    out = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            image = page.render(scale=DPI / 72).to_pil().convert("L")
            for folder in SHOTS:
                folder.mkdir(parents=True, exist_ok=True)
                image.save(folder / f"{name}-{i + 1}.png")
            textpage.close()
            page.close()
            out.append((text, image))
    finally:
        doc.close()
    return out


def _flat(text: str) -> str:
    """Extracted text without the line breaks and spaces wrapping put in."""
    return re.sub(r"\s+", "", text)


def _body(pages) -> str:
    """The text of all pages, flat, without the footers (a term running over a page reads on)."""
    out = []
    for text, _image in pages:
        lines = text.strip().splitlines()
        if lines and re.search(r"第\s*\d+\s*页\s*共\s*\d+\s*页\s*$", lines[-1]):
            lines = lines[:-1]
        out.append(_flat("".join(lines)))
    return "".join(out)


def _zh(choices, value) -> str:
    """A choice's label as the documents print it (in Chinese)."""
    with translation.override("zh-hans"):
        return _flat(label(choices, value))


def _ink(image) -> float:
    """The share of dark pixels."""
    histogram = image.histogram()
    return sum(histogram[:128]) / (image.width * image.height)


def _glyphs_without_ink(chars: str, fonts=None) -> str:
    """The characters among `chars` that render as nothing in the documents' fonts: each is drawn alone in a
    cell of a sheet (in the font the documents would take it from), the sheet rendered, every cell looked at.
    The .notdef glyph of WenQuanYi is empty, so a missing glyph is a blank gap: a cell without ink."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    fonts = fonts or pdf_fonts()
    chars = "".join(dict.fromkeys(ch for ch in chars if not ch.isspace()))
    size, cell, per_row = 20, 30, 18
    rows = (len(chars) + per_row - 1) // per_row
    height = rows * cell + 2 * cell
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(per_row * cell + 2 * cell, height))
    for n, ch in enumerate(chars):
        face = fonts.face_for(ch) or fonts.main
        canvas.setFont(face.name, size)
        x, y = cell + n % per_row * cell, height - cell - (n // per_row + 1) * cell
        canvas.drawString(x + 4, y + 7, ch)
    canvas.save()
    doc = pdfium.PdfDocument(buffer.getvalue())
    scale = 2
    image = doc[0].render(scale=scale).to_pil().convert("L")
    doc.close()
    blank = []
    for n, ch in enumerate(chars):
        x, y = cell + n % per_row * cell, cell + (n // per_row) * cell
        box = image.crop((x * scale, y * scale, (x + cell) * scale, (y + cell) * scale))
        if box.getextrema()[0] > 160:  # nothing darker than light grey: no glyph
            blank.append(ch)
    return "".join(blank)


# ------------------------------------------------------------------------------------------- agreement


@needs_cjk_font
@pytest.mark.django_db
def test_the_agreement_is_an_official_document_every_party_can_sign(case):
    pdf = agreement_pdf(case.dispute)
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf, "agreement")
    text = _body(pages)
    applicant, respondent = _zh(PartyRole, PartyRole.APPLICANT), _zh(PartyRole, PartyRole.RESPONDENT)

    # What the national template holds, in Chinese.
    for words in (
        "人民调解协议书",
        "达拉特旗镇1人民调解委员会",  # the county and the committee
        "编号：T20260620-0003",
        "张福生",
        "巴图孟和",
        "纠纷主要事实、争议事项",
        "经调解，当事人自愿达成如下协议",
        "履行方式、时限",
        "于2026年7月8日前履行完毕",
        "本协议一式三份，当事人各执一份，人民调解委员会留存一份",
        f"{applicant}：张福生，男，汉族，1968年4月出生，身份证号：150621********0011，联系电话：139****2345，住址：镇1村1-1三社12号。",
        "当事人（签名、盖章或按指印）：",
        "人民调解员（签名）：",
        f"{applicant}张福生：",
        f"{respondent}巴图孟和：",
        "王建国：",
        "乌云其木格：",
        "记录人（签名）：",
        "达拉特旗镇1人民调解委员会（盖章）2026年6月28日",
        "人民币12,500.00元（大写：壹万贰仟伍佰元整）",
    ):
        assert words in text, words
    # The terms, numbered, every word of them (long ones wrap, across pages too).
    for n, term in enumerate(TERMS, 1):
        assert split_terms("\n".join(TERMS))[n - 1][0] + _flat(term) in text, n
    # The particulars: the registry's for the applicant, the ID number's for the respondent.
    assert f"{respondent}：巴图孟和，女，1975年9月出生，身份证号：150621********0028" in text

    # A4, the CJK font embedded (a subset), page numbers once it runs over a page.
    assert b"/FontFile2" in pdf
    assert b"WenQuanYi" in pdf or Path(pdf_fonts().main.path).stem.encode() in pdf
    assert len(pages) >= 2
    for n, (page_text, image) in enumerate(pages, 1):
        assert f"第{n}页共{len(pages)}页" in _flat(page_text)
        assert image.width == round(210 / 25.4 * DPI) or abs(image.width - 210 / 25.4 * DPI) < 2
        assert _ink(image) > 0.001, f"page {n} is blank"
    # The signatures stay with text of the agreement: the last page carries the closing clauses.
    assert "本协议一式三份" in _flat(pages[-1][0])
    assert "当事人（签名、盖章或按指印）" in _flat(pages[-1][0])

    # No character is missing from the fonts, and none renders as an empty box.
    assert missing_glyphs(text) == ""
    assert _glyphs_without_ink(text) == ""


@needs_cjk_font
@pytest.mark.django_db
def test_a_short_agreement_is_one_page_without_page_numbers(case):
    case.dispute.description = "被申请人的羊群越界啃食申请人的玉米青苗约一亩，双方就赔偿数额发生争议。"
    case.dispute.amount = None
    case.dispute.save()
    case.agreement.amount = None
    case.agreement.terms = "乙方赔偿甲方损失五百元。"
    case.agreement.performance_method = ""
    case.agreement.save()
    pages = _pages(agreement_pdf(case.dispute), "agreement-short")
    assert len(pages) == 1
    text = _flat(pages[0][0])
    assert "一、乙方赔偿甲方损失五百元。" in text
    assert "第1页" not in text


@needs_cjk_font
@pytest.mark.django_db
def test_id_and_phone_numbers_are_masked_unless_the_caller_unmasks(case):
    masked = _flat("".join(t for t, _ in _pages(agreement_pdf(case.dispute), "agreement-masked")))
    assert mask_id_number(APPLICANT_ID) in masked and mask_id_number(RESPONDENT_ID) in masked
    assert mask_phone("13947712345") in masked
    assert APPLICANT_ID not in masked and RESPONDENT_ID not in masked and "13947712345" not in masked

    full = _flat(
        "".join(t for t, _ in _pages(agreement_pdf(case.dispute, unmasked=True), "agreement-unmasked"))
    )
    assert APPLICANT_ID in full and RESPONDENT_ID in full and "13947712345" in full


@pytest.mark.django_db
def test_no_agreement_no_parties_or_a_failed_mediation_print_nothing(case):
    case.agreement.outcome = Outcome.FAILED
    case.agreement.save()
    with pytest.raises(ap.Invalid) as failed:
        agreement_pdf(case.dispute)
    assert failed.value.field == "agreement"

    case.agreement.delete()
    with pytest.raises(ap.Invalid) as none:
        agreement_pdf(case.dispute)
    assert none.value.field == "agreement"

    Agreement.objects.create(
        dispute=case.dispute, outcome=Outcome.AGREEMENT, number="x", terms="一条", signed_on=dt.date(2026, 6, 28),
        level=1, created_by=case.clerk,
    )  # fmt: skip
    Party.objects.filter(dispute=case.dispute).delete()
    with pytest.raises(ap.Invalid) as alone:
        agreement_pdf(case.dispute)
    assert alone.value.field == "parties"


@needs_cjk_font
@pytest.mark.django_db
def test_a_partial_agreement_says_so(case):
    case.agreement.outcome = Outcome.PARTIAL
    case.agreement.save()
    text = _flat("".join(t for t, _ in _pages(agreement_pdf(case.dispute), "agreement-partial")))
    assert "当事人就部分争议事项自愿达成如下协议" in text


# --------------------------------------------------------------------------------------- missing glyphs


@needs_cjk_font
@pytest.mark.django_db
def test_a_character_no_font_has_refuses_the_document_naming_it(case):
    if pdf_fonts().face_for("𠮷") is not None:
        pytest.skip("a font with CJK extension B is installed here")
    case.respondent.name = "𠮷田花子"
    case.respondent.save()
    with pytest.raises(MissingGlyphs) as refused:
        agreement_pdf(case.dispute)
    assert refused.value.field == "parties"
    assert refused.value.data["characters"] == ["𠮷"]
    assert "U+20BB7" in str(refused.value)
    with pytest.raises(MissingGlyphs):
        record_pdf(case.dispute)


@needs_cjk_font
@pytest.mark.django_db
def test_mongolian_script_is_refused_with_its_own_reason(case):
    case.agreement.terms = TERMS[0] + "\nᠪᠠᠲᠤ"
    case.agreement.save()
    with pytest.raises(MissingGlyphs) as refused:
        agreement_pdf(case.dispute)
    assert refused.value.field == "terms"
    assert set(refused.value.data["characters"]) == set("ᠪᠠᠲᠤ")


@needs_cjk_font
@pytest.mark.django_db
def test_names_in_latin_and_cyrillic_print_with_a_fallback_font_where_needed(case):
    # Ə (U+018F) is not in WenQuanYi: it comes from DejaVu Sans, embedded too.
    fonts = pdf_fonts()
    if fonts.main.has("Ə") or fonts.face_for("Ə") is None:
        pytest.skip("needs a main font without Ə and a fallback with it (DejaVu Sans)")
    case.applicant.name = "Батбаяр Өлзий"
    case.applicant.save()
    case.respondent.name = "Əli Ürümqi"
    case.respondent.save()
    pdf = agreement_pdf(case.dispute)
    pages = _pages(pdf, "agreement-latin")
    text = "".join(t for t, _ in pages)
    assert "Батбаяр Өлзий" in text
    assert "Əli Ürümqi" in text
    assert b"DejaVuSans" in pdf
    assert _glyphs_without_ink("Батбаяр ӨлзийƏli Ürümqi") == ""


@needs_cjk_font
def test_the_sheet_check_sees_a_missing_glyph():
    """The check of the pictures is not blind: a character the font lacks is a cell without ink."""
    fonts = pdf_fonts()
    if fonts.main.has("\U00020bb7"):
        pytest.skip("the main font has 𠮷")
    only_main = PdfFonts(fonts.main, ())
    assert _glyphs_without_ink("吉\U00020bb7调", only_main) == "\U00020bb7"


def test_missing_glyphs_names_what_cannot_print():
    fonts = pdf_fonts()
    assert missing_glyphs("张福生 巴图孟和\n调解") == ""
    assert missing_glyphs("ᠮᠣᠩᠭᠣᠯ") == "ᠮᠣᠩᠭᠯ"  # Mongolian script, whatever the fonts (each character once)
    # Invisible characters are dropped, never reported: a zero-width space, a variation selector.
    assert missing_glyphs("张\u200b福\ufe00生") == ""
    if fonts.face_for("\U00020bb7") is None:
        assert missing_glyphs("𠮷田") == "𠮷"


@pytest.mark.django_db
def test_without_a_cjk_font_the_builtin_cid_font_is_used_and_the_warning_given_once(
    case, monkeypatch, settings, caplog
):
    monkeypatch.setattr(ap, "FONT_SEARCH", ())
    monkeypatch.setattr(ap, "FALLBACK_SEARCH", ())
    settings.MEDIATION_PDF_FONT = "/nonexistent/font.ttf"
    settings.MEDIATION_PDF_FALLBACK_FONTS = []
    ap._fonts.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="gridgov.mediation.agreement_pdf"):
            first = agreement_pdf(case.dispute)
            second = agreement_pdf(case.dispute)
        warnings = [r for r in caplog.records if "STSong-Light" in r.getMessage()]
        assert len(warnings) == 1
        assert not pdf_fonts().embedded
        assert b"/STSong-Light" in first and b"/FontFile2" not in first
        assert second.startswith(b"%PDF-")
        # Outside GBK the CID font has nothing: refused rather than a blank box.
        case.respondent.name = "Əli"
        case.respondent.save()
        with pytest.raises(MissingGlyphs):
            agreement_pdf(case.dispute)
    finally:
        ap._fonts.cache_clear()


# ----------------------------------------------------------------------------------------------- record


@needs_cjk_font
@pytest.mark.django_db
def test_the_hand_over_record_holds_the_whole_story(case):
    dispute = case.dispute
    dispute.state = DisputeState.HANDED_OVER
    dispute.handed_to = HandOverTo.COURT
    dispute.handed_at = timezone.make_aware(dt.datetime(2026, 7, 30, 16, 0))
    dispute.handover_note = "乙方未按期设置网围栏，甲方申请司法确认后向人民法院申请强制执行。"
    dispute.save()
    DisputeEvent.objects.create(
        dispute=dispute, action=EventAction.HANDED_OVER, actor=case.clerk, from_state=DisputeState.SETTLED,
        to_state=DisputeState.HANDED_OVER, level=1, at=dispute.handed_at, note=dispute.handover_note,
    )  # fmt: skip
    pdf = record_pdf(dispute)
    pages = _pages(pdf, "record")
    text = _flat("".join(t for t, _ in pages))
    for words in (
        "人民调解卷宗",
        "T20260620-0003",
        "张福生与巴图孟和草场越界放牧纠纷",
        "达拉特旗镇1村1-1网格1-1-1镇1村1-1三社草场",
        "张福生",
        "巴图孟和",
        "蒙古语为主，调解时请乌云其木格协助翻译",  # a party's note
        "调解员分别听取双方陈述",  # the first session's notes
        "双方在调解员主持下就赔偿数额、界线和饮水通道达成一致",  # the second's
        "嘎查委员会主任额尔敦",
        "核实损失面积",
        _flat(TERMS[1]),
        "赔偿款已于7月3日全部付清，双方关系缓和。",  # the follow-up visit
        "2026年7月28日",  # the one still due
        "乙方未按期设置网围栏",  # the hand-over note
        "李文静",
    ):
        assert words in text, words
    assert mask_id_number(RESPONDENT_ID) in text and RESPONDENT_ID not in text
    assert b"/FontFile2" in pdf
    for n, (page_text, image) in enumerate(pages, 1):
        assert f"第{n}页共{len(pages)}页" in _flat(page_text)  # numbered, even a single page
        assert _ink(image) > 0.001
    assert missing_glyphs(text) == ""
    assert _glyphs_without_ink(text) == ""


@needs_cjk_font
@pytest.mark.django_db
def test_the_record_reads_in_a_fixed_number_of_queries(case, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        record_pdf(case.dispute)
    for day in range(1, 11):
        session = Session.objects.create(
            dispute=case.dispute,
            held_at=timezone.make_aware(dt.datetime(2026, 7, day, 9, 0)),
            notes=f"第{day}次补充调解",
            created_by=case.clerk,
        )
        session.mediators.set([case.lead])
        session.parties_present.set([case.applicant])
        DisputeEvent.objects.create(
            dispute=case.dispute, action=EventAction.SESSION, actor=case.clerk, level=1
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        record_pdf(case.dispute)


# ------------------------------------------------------------------------------------------------ words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.5", "伍角整"),
        ("0.05", "伍分"),
        ("10", "壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("10100", "壹万零壹佰元整"),
        ("12500", "壹万贰仟伍佰元整"),
        ("100010.05", "壹拾万零壹拾元零伍分"),
        ("1000000", "壹佰万元整"),
        ("100000001", "壹亿零壹元整"),
        ("120000000.5", "壹亿贰仟万元伍角整"),
        ("3.75", "叁元柒角伍分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amounts_in_capital_numerals(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_terms_are_numbered_unless_the_author_numbered_them():
    assert split_terms("甲方付款。\n\n乙方收款。") == [("一、", "甲方付款。"), ("二、", "乙方收款。")]
    assert [n for n, _ in split_terms("\n".join(f"第{i}条" for i in range(1, 13)))][-1] == "第12条"
    assert [n for n, _ in split_terms("\n".join("条" for _ in range(12)))][9:] == ["十、", "十一、", "十二、"]
    # The author's numbers stay; a line without one continues the term above it.
    assert split_terms("1. 甲方付款：\n分两次付清\n2、乙方收款") == [
        ("1.", "甲方付款：\n分两次付清"),
        ("2、", "乙方收款"),
    ]


@needs_cjk_font
@pytest.mark.django_db
def test_long_notes_run_on_over_pages_and_nothing_is_cut(case):
    """Notes as long as the services take (4,000 characters a session, 2,000 a hand-over note) flow over pages,
    in the paragraphs and in the rows of the timeline, and every last character is printed."""
    long_notes = "".join(
        f"第{n}段：双方就草场界线、赔偿数额和饮水通道反复陈述意见，调解员逐项释法说理。"
        for n in range(1, 120)
    )
    long_notes = long_notes[:3990] + "（完）"
    case.sessions[0].notes = long_notes
    case.sessions[0].save()
    hand_over = ("乙方逾期未履行协议第二项，经多次督促仍拒绝设置网围栏。" * 60)[:1990] + "（移交完）"
    DisputeEvent.objects.create(
        dispute=case.dispute, action=EventAction.HANDED_OVER, actor=case.clerk, from_state=DisputeState.SETTLED,
        to_state=DisputeState.HANDED_OVER, level=1, at=timezone.make_aware(dt.datetime(2026, 7, 30, 16, 0)),
        note=hand_over,
    )  # fmt: skip
    pages = _pages(record_pdf(case.dispute), "record-long")
    text = _body(pages)
    assert _flat(long_notes) in text
    # The hand-over note, too long for its row of the timeline, begun there and printed in full below.
    assert "（全文见附注1）" in text
    assert "附注1：" + _flat(hand_over) in text
    assert len(pages) >= 5
    for n, (page_text, image) in enumerate(pages, 1):
        assert f"第{n}页共{len(pages)}页" in _flat(page_text)
        assert _ink(image) > 0.001


@needs_cjk_font
@pytest.mark.django_db
def test_the_record_of_a_dispute_just_received_says_what_is_not_there_yet(small_tree, make_user):
    clerk = make_user("clerk2", full_name="赵敏")
    dispute = Dispute(
        number="T20260701-0001",
        kind="neighbours",
        title="邻里排水纠纷",
        description="两户因院墙排水沟堵塞发生争执。",
        received_at=timezone.make_aware(dt.datetime(2026, 7, 1, 10, 0)),
        received_by=clerk,
    )
    dispute.place_in(small_tree["150621100200001"])
    dispute.save()
    pages = _pages(record_pdf(dispute), "record-new")
    text = _body(pages)
    assert text.startswith("达拉特旗人民调解卷宗")  # no committee yet: the county heads it
    for words in (
        "邻里排水纠纷",
        "两户因院墙排水沟堵塞发生争执。",
        "未开展调解。",
        "尚无调解结果。",
        "无回访记录。",
    ):
        assert words in text, words
    with pytest.raises(ap.Invalid):
        agreement_pdf(dispute)


@needs_cjk_font
@pytest.mark.django_db
def test_a_long_name_gets_its_place_to_sign_below_it(case):
    long_name = "内蒙古鄂尔多斯市达拉特旗某某农牧业专业合作社法定代表人额尔德尼巴雅尔图"
    case.respondent.name = long_name
    case.respondent.save()
    pages = _pages(agreement_pdf(case.dispute), "agreement-long-name")
    assert long_name + "，" in _body(pages)  # the particulars
    assert _flat(long_name) + "：" in _flat(pages[-1][0])  # the place to sign, whole
