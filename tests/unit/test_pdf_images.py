"""Profile PDFs embed the chart PNGs' own pixel data: same pixels, no second encoding."""

from __future__ import annotations

import io
import zlib

from PIL import Image
from pypdf import PdfReader

from cwi.charts.profile import SpineRow, spine_chart
from cwi.site.pdf import ASSETS_ENV, _write_one, png_idat


def _spine(path):
    rows = [
        SpineRow("CIN", 360.0, 344.1, 339.1, 180.0, 290.0, 410.0, 720.0, "higher"),
        SpineRow("CPP", 41.0, 45.2, 41.6, 20.0, 33.0, 52.0, 90.0, "similar"),
        SpineRow("CLA", None, 70.3, 71.0, 30.0, 55.0, 95.0, 160.0, "unknown"),
    ]
    spine_chart(rows, path, range_label="Range of 153 English LAs", centre_label="England",
                la_name="Brackenford", title="t", subtitle="s", source="src", alt="a")  # fmt: skip
    return path


def _pdf_images(tmp_path, png, monkeypatch):
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))  # the PDF may read this folder's images
    html = (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>t</title></head>'
        f'<body><p style="font-family: \'DejaVu Sans\'">x</p><img src="{png.name}" alt="a">'
        "</body></html>"
    )
    out = tmp_path / f"{png.stem}.pdf"
    _write_one((html, str(tmp_path), str(out), "profile"))
    page = PdfReader(out).pages[0]
    xobjects = page["/Resources"]["/XObject"]
    streams = [x.get_object() for x in xobjects.values()]
    return [s for s in streams if s.get("/Subtype") == "/Image"], page.images


def test_a_chart_png_goes_into_the_pdf_as_it_is_with_the_same_pixels(tmp_path, monkeypatch):
    png = _spine(tmp_path / "spine.png")
    data = png.read_bytes()
    idat = png_idat(data)
    assert idat is not None  # the chart PNG is 8-bit RGB, not interlaced, without alpha
    with Image.open(png) as img:
        assert img.mode == "RGB" and "transparency" not in img.info
        pixels = img.tobytes()
        size = img.size
    streams, images = _pdf_images(tmp_path, png, monkeypatch)
    assert len(streams) == 1 and "/SMask" not in streams[0]
    # the PDF holds the PNG's own compressed pixel rows, not a second encoding of them
    assert streams[0]._data == idat
    assert (streams[0]["/Width"], streams[0]["/Height"]) == size
    assert streams[0]["/DecodeParms"]["/Predictor"] == 15
    shown = images[0].image.convert("RGB")
    assert shown.size == size and shown.tobytes() == pixels


def test_other_pngs_are_re_encoded_by_weasyprint_with_the_same_pixels(tmp_path, monkeypatch):
    rgb = Image.new("RGB", (40, 30), "#12436D")
    rgb.paste((244, 106, 37), (10, 5, 30, 25))
    cases = {"alpha": rgb.convert("RGBA"), "palette": rgb.convert("P")}
    for name, img in cases.items():
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        assert png_idat(buf.getvalue()) is None, name
        (tmp_path / f"{name}.png").write_bytes(buf.getvalue())
        streams, images = _pdf_images(tmp_path, tmp_path / f"{name}.png", monkeypatch)
        assert len(streams) == 1
        assert images[0].image.convert("RGB").tobytes() == img.convert("RGB").tobytes(), name
    buf = io.BytesIO()
    rgb.save(buf, format="PNG")
    plain = buf.getvalue()
    assert png_idat(plain) is not None
    # the same file marked interlaced (IHDR's last byte, CRC made good) or 16 bits deep
    for offset, value in ((28, 1), (24, 16)):
        header = bytearray(plain[12:29])
        header[offset - 12] = value
        crc = zlib.crc32(bytes(header)).to_bytes(4, "big")
        assert png_idat(plain[:12] + bytes(header) + crc + plain[33:]) is None
    assert png_idat(b"not a png") is None
    cut = _spine(tmp_path / "cut.png").read_bytes()
    assert png_idat(cut[: len(cut) // 2]) is None  # a truncated file is never passed through
    # sanity: the IDAT data of a good PNG is one zlib stream of filtered rows
    good = png_idat(cut)
    assert good is not None and len(zlib.decompress(good)) > 0


def test_profile_pdfs_sharing_one_font_configuration_are_byte_identical(tmp_path, monkeypatch):
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from cwi.site.safe import asset_fetcher, strip_attachments

    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    png = _spine(tmp_path / "spine.png")
    docs = [
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>t</title>'
        f"<style>html {{ font-family: 'DejaVu Sans'; }} b {{ font-weight: bold; }}</style>"
        f"</head><body><h1>{name}</h1><p><b>Rates</b> 1,234.5 [c] Ynys Môn</p>"
        f'<img src="{png.name}" alt="a"></body></html>'
        for name in ("Brackenford", "St. Helen's", "Bath & North East")
    ]
    shared = []
    for i, html in enumerate(docs):  # one process, one font configuration for all three
        out = tmp_path / f"shared{i}.pdf"
        _write_one((html, str(tmp_path), str(out), "profile"))
        shared.append(out.read_bytes())
    fetcher = asset_fetcher(tmp_path, [tmp_path])
    for html, data in zip(docs, shared, strict=True):
        alone = HTML(string=strip_attachments(html), base_url=str(tmp_path), url_fetcher=fetcher)
        own = alone.write_pdf(
            attachments=[], pdf_variant="pdf/ua-1", font_config=FontConfiguration()
        )
        assert own == data
        fonts = {
            str(f["/BaseFont"]).split("+", 1)[-1]
            for f in PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
        }
        assert fonts and all(f.startswith("/DejaVu") or f.startswith("DejaVu") for f in fonts)


def test_cells_aligned_by_class_instead_of_style_attribute_give_the_same_pdf():
    from weasyprint import HTML

    from cwi.site.pdf import cell_alignments

    body = (
        '<table class="t"><tr><th style="text-align: left;">Measure</th>'
        '<th class="num" style="text-align: right;">Rate</th><th>x</th></tr>'
        '<tr><td class="gt_row num" style="text-align: left;">1,234</td>'
        '<td style="text-align: center;">[c]</td><td style="width: 9%">7</td></tr></table>'
    )
    css = (
        "html { font-family: 'DejaVu Sans'; } td, th { text-align: center; width: 30%; }"
        " .num { text-align: right; } table.t td.num { text-align: center; }"
    )
    changed, rules = cell_alignments(body)
    assert "text-align" not in changed.replace('style="width: 9%"', "")
    assert changed.count("cwi-align-") == 4 and 'class="cwi-align-left gt_row num"' in changed

    def pdf(html: str, extra: str) -> bytes:
        doc = f"<html><head><style>{css}</style><style>{extra}</style></head><body>{html}</body>"
        return HTML(string=doc).write_pdf()

    assert pdf(changed, rules) == pdf(body, "")
    assert pdf(changed, "") != pdf(body, "")  # the rules are what aligns the cells
