"""A report holding key images stays PDF/A: no image XObject asks to be interpolated.

ISO 19005-2 6.2.8 (and ISO 19005-3, which the PDF/A-3b report claims, by reference): "If an
Image dictionary contains the Interpolate key, its value shall be false." WeasyPrint writes
/Interpolate true for images drawn with CSS image-rendering: auto.
"""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from decisions.render import ReportImage, render_report_pdf
from tests.decisions.factories import image_xobjects
from tests.decisions.test_report_render import png, report_data


def every_image(reader: PdfReader) -> list:
    """Every image dictionary in the file, drawn or not (soft masks, thumbnails too)."""
    images = []
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(IndirectObject(number, 0, reader))
        if hasattr(obj, "get") and obj.get("/Subtype") == "/Image":
            images.append(obj)
    return images


def rgba_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (10, 200, 10, 128)).save(out, format="PNG")
    return out.getvalue()


def test_no_image_xobject_of_a_report_with_key_images_is_interpolated():
    key_images = (
        ReportImage(png((200, 40, 40)), "Axial CT"),
        ReportImage(png((40, 200, 40), size=512), "Coronal CT"),
        ReportImage(png((40, 40, 200), size=33), "MRI T2"),
        ReportImage(rgba_png(), "Overlay with transparency"),  # drawn with a soft mask
    )
    reader = PdfReader(io.BytesIO(render_report_pdf(report_data(key_images=key_images))))
    drawn = image_xobjects(reader)
    assert len(drawn) == 4
    images = every_image(reader)
    assert len(images) == 5  # the four images and the soft mask
    for image in images:
        assert image.get("/Interpolate") in (None, False), image
