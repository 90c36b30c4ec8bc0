"""The email bytes written by hand (mime.py) read back right with the standard parser; ticket QR
codes drawn with a fixed mask decode; batches are claimed and their leases renewed."""

from __future__ import annotations

import base64
import email
import io
import random
from datetime import timedelta
from email.policy import default as default_policy

import zxingcpp
from PIL import Image
from sqlmodel import select

from bilten.models import Notification, NotificationStatus
from bilten.notifications.attachments import qr_png
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.delivery import claim_due, renew_lease
from bilten.notifications.mime import encode_email
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import Attachment, InlineImage, RenderedEmail
from bilten.notifications.senders import SmtpSender
from tests.factories import make_user
from tests.notifications_support import SmtpSink, emit, parts, wait_until

CONFIG = DeliveryConfig(retry_delays=(30,), lease_seconds=60)


def _rendered() -> RenderedEmail:
    return RenderedEmail(
        subject="تذاكرك لحفل الربيع — a long subject that has to be folded over more than one header line",
        text="مرحبا ليلى\n\n.a line that starts with a dot\n" + "x" * 300 + "\ntrailing spaces   \n",
        html='<html dir="rtl"><body><p>مرحبا</p><img src="cid:ticket-1@bilten"></body></html>\n',
        inline_images=[InlineImage(cid="ticket-1@bilten", png=b"\x89PNG fake image bytes \x00\x01")],
        attachments=[
            Attachment("tickets.pdf", "application/pdf", b"%PDF-1.4 \x00\xff binary"),
            Attachment("event.ics", "text/calendar", "BEGIN:VCALENDAR\r\nSUMMARY:حفل\r\nEND:VCALENDAR\r\n".encode()),
        ],
    )


def _encode(now, rendered=None):
    return encode_email(
        rendered or _rendered(),
        mail_from="بلتن <tickets@bilten.test>",
        recipient="layla@example.org",
        idempotency_key="order.paid:1:email",
        locale="ar",
        now=now,
    )


def test_a_hand_written_email_reads_back_with_every_part(now):
    encoded = _encode(now)
    assert encoded.envelope_from == "tickets@bilten.test" and encoded.recipient == "layla@example.org"
    assert b"\n" not in encoded.data.replace(b"\r\n", b"")  # CRLF line endings only
    assert max(len(line) for line in encoded.data.split(b"\r\n")) <= 998
    encoded.data.decode("ascii")  # 7-bit clean: any SMTP server takes it

    message = email.message_from_bytes(encoded.data, policy=default_policy)
    rendered = _rendered()
    assert message["Subject"] == rendered.subject
    assert message["From"].addresses[0].display_name == "بلتن"
    assert message["Content-Language"] == "ar" and message["Message-ID"].endswith("@bilten.test>")
    assert message.get_content_type() == "multipart/mixed"
    found = parts(message)
    assert found["text/plain"][0].get_content().replace("\r\n", "\n") == rendered.text
    assert found["text/html"][0].get_content().replace("\r\n", "\n") == rendered.html
    (image,) = found["image/png"]
    assert image["Content-ID"] == "<ticket-1@bilten>" and image.get_content() == rendered.inline_images[0].png
    assert image.get_content_disposition() == "inline"
    (pdf,) = found["application/pdf"]
    assert pdf.get_filename() == "tickets.pdf" and pdf.get_content() == b"%PDF-1.4 \x00\xff binary"
    (calendar,) = found["text/calendar"]
    assert calendar.get_filename() == "event.ics" and "SUMMARY:حفل" in calendar.get_content()


def test_the_same_email_gives_the_same_bytes_and_a_plain_one_is_just_text_and_html(now):
    assert _encode(now).data == _encode(now).data
    plain = _encode(now, RenderedEmail(subject="Welcome", text="Hello", html="<p>Hello</p>\n"))
    message = email.message_from_bytes(plain.data, policy=default_policy)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert [part.get_content() for part in message.iter_parts()] == ["Hello", "<p>Hello</p>\r\n"]  # exactly
    assert b"Hello" in plain.data  # quoted-printable: readable in the raw message


def test_ticket_qr_codes_drawn_with_one_fixed_mask_decode():
    rng = random.Random(7)
    for _ in range(12):
        code = base64.b32encode(rng.randbytes(85)).decode()  # the shape of a signed ticket code
        (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(code))))
        assert result.text == code


def test_a_batch_is_claimed_under_one_token_and_its_lease_renewed_for_what_is_still_held(session, now):
    for n in range(5):
        user = make_user(session, now=now, email=f"batch{n}@example.org")
        emit(session, "user.registered", {"user_id": str(user.id)}, now)
    dispatch_outbox(session, now=now)
    batch = claim_due(session, now=now, config=CONFIG, limit=3)
    assert len(batch) == 3 and len({claim.token for claim in batch}) == 1
    assert all(claim.notification.status == NotificationStatus.SENDING for claim in batch)
    assert all(claim.notification.attempts == 1 for claim in batch)
    rest = claim_due(session, now=now, config=CONFIG, limit=10)
    assert len(rest) == 2 and not {c.notification.id for c in rest} & {c.notification.id for c in batch}

    later = now + timedelta(seconds=45)
    held = renew_lease(session, batch[0].token, now=later, config=CONFIG)
    assert held == {claim.notification.id for claim in batch}
    leases = session.exec(select(Notification.claimed_until).where(Notification.claim_token == batch[0].token)).all()
    assert set(leases) == {later + CONFIG.lease}
    # Past the first lease only the batch that was not renewed is up for grabs again.
    taken_over = claim_due(session, now=now + CONFIG.lease + timedelta(seconds=1), config=CONFIG, limit=10)
    assert {claim.notification.id for claim in taken_over} == {claim.notification.id for claim in rest}


def test_an_internationalized_mailbox_reaches_an_smtputf8_server_as_it_is(now):
    encoded = encode_email(
        RenderedEmail(subject="Welcome", text="Hello\n", html="<p>Hello</p>\n"),
        mail_from="Bilten <tickets@bilten.test>",
        recipient="layla@مثال.example",
        idempotency_key="user.registered:1:email",
        locale="ar",
        now=now,
    )
    with SmtpSink() as sink:  # aiosmtpd offers SMTPUTF8
        sender = SmtpSender(host="127.0.0.1", port=sink.port, starttls=False, timeout=2)
        sender.send(encoded, idempotency_key="user.registered:1:email")
        sender.close()
        wait_until(lambda: sink.messages, what="the email")
    assert sink.recipients() == ["layla@مثال.example"]
