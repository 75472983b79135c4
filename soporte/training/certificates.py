"""Certificates of attendance as PDF (fpdf2, like the knowledge base's manuals)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.kb.export import _FONTS, _font_dir
from soporte.lib.errors import Conflict, NotFound

from .models import Attendee, AttendeeStatus


def certificate_for(session, user) -> Attendee:
    """The person's place, when it earns a certificate: they were marked present."""
    attendee = session.attendees.select_related("user").filter(user=user).first()
    if attendee is None or attendee.status != AttendeeStatus.ACCEPTED:
        raise NotFound(_("You are not an attendee of this session."))
    if attendee.attended is not True:
        raise Conflict(_("A certificate is given once the trainer marks you present."))
    return attendee


def to_pdf(attendee: Attendee) -> bytes:
    from fpdf import FPDF

    session, user = attendee.session, attendee.user
    course = session.course
    pdf = FPDF(format="A4", orientation="landscape")
    pdf.set_title(_("Certificate of attendance"))
    pdf.set_creator("Soporte")
    folder = _font_dir()
    if folder is not None:
        for style, name in _FONTS.items():
            pdf.add_font("DejaVu", style, str(folder / name))
        family = "DejaVu"
    else:
        family = "helvetica"

    def text(value: str) -> str:
        return value if folder is not None else value.encode("latin-1", "replace").decode("latin-1")

    pdf.add_page()
    pdf.set_font(family, "B", 30)
    pdf.ln(30)
    pdf.cell(0, 16, text(_("Certificate of attendance")), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_font(family, "", 14)
    pdf.cell(0, 10, text(_("This certifies that")), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "B", 22)
    pdf.cell(0, 14, text(str(user)), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 14)
    pdf.cell(0, 10, text(_("attended the course")), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "B", 18)
    pdf.multi_cell(0, 12, text(course.title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 12)
    day = timezone.localtime(session.starts_at).date().isoformat()
    hours = _("%(minutes)s minutes") % {"minutes": session.duration_minutes}
    trainer = _("Trainer: %(name)s") % {"name": str(session.trainer)}
    pdf.ln(6)
    pdf.cell(0, 8, text(f"{day} · {hours}"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, text(trainer), align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def filename(attendee: Attendee) -> str:
    return f"certificate-{attendee.session_id}-{attendee.user_id}.pdf"
