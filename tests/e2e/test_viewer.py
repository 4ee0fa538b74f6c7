"""The viewer in real Chromium, on the phantom CT whose every HU is known."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from imaging import measure, phantom
from imaging.ingest import ingest_many
from imaging.models import Series
from imaging.pixels import window_to_grey
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.browser

SLICES, SIZE = 24, 256
SPACING = phantom._pixel_spacing(SIZE)
ORIGIN = phantom._first_pixel(SIZE)


def pixel_of(x_mm: float, y_mm: float) -> tuple[float, float]:
    """Image coordinates (column, row) of a point in patient mm."""
    return ((x_mm - ORIGIN) / SPACING, (y_mm - ORIGIN) / SPACING)


def phantom_index(viewer_slice: int) -> int:
    # The viewer orders slices along the normal (feet to head); the phantom is head first.
    return SLICES - 1 - viewer_slice


@pytest.fixture
def phantom_case(cast, transactional_db):
    case = make_case(cast, status="in_review")
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=SLICES, size=SIZE)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{i}", buf))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == SLICES
    return case


def open_viewer(new_context, base, case, username="radiologist"):
    page = sign_in(new_context(viewport={"width": 1000, "height": 760}), base, username)
    page.goto(f"{base}/cases/{case.uuid}/viewer/")
    page.wait_for_function(
        "window.viewer && [...window.viewer.loaders.values()].some(e => e.loader.loaded === e.loader.count && e.loader.count > 0)"
    )
    page.evaluate("window.viewer.rendered()")
    return page


def settle(page):
    page.evaluate("window.viewer.rendered()")


def grey_at(page, col: float, row: float) -> int:
    """The displayed grey at an image point (the canvas pixel it lands on)."""
    return page.evaluate(
        """([c, r]) => {
          const vp = window.viewer.viewports[window.viewer.state.active];
          const [x, y] = vp.imageToCanvas([c, r]);
          const ratio = vp.canvas.width / vp.cssWidth;
          const d = vp.canvas.getContext('2d').getImageData(Math.floor(x * ratio), Math.floor(y * ratio), 1, 1).data;
          return d[0];
        }""",
        [col, row],
    )


def canvas_digest(page) -> str:
    return page.evaluate(
        """async () => {
          const c = window.viewer.viewports[0].canvas;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const h = await crypto.subtle.digest('SHA-256', d);
          return [...new Uint8Array(h)].map(b => b.toString(16).padStart(2, '0')).join('');
        }"""
    )


def mouse_at(page, col: float, row: float) -> tuple[float, float]:
    return tuple(
        page.evaluate(
            """([c, r]) => {
              const vp = window.viewer.viewports[window.viewer.state.active];
              const [x, y] = vp.imageToCanvas([c, r]);
              const box = vp.root.getBoundingClientRect();
              return [box.left + x, box.top + y];
            }""",
            [col, row],
        )
    )


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
    page.mouse.move(*end, steps=3)
    page.mouse.up()


def test_scrolling_reaches_the_expected_anatomy(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    lung = pixel_of(75.0, 0.0)  # the centre of the patient's left lung
    # Near the head the lungs are there (dark in a soft-tissue window) ...
    page.keyboard.press("End")
    settle(page)
    top = page.evaluate("window.viewer.getState().viewports[0].slice")
    assert top == SLICES - 1
    hu = phantom.expected_hu(
        phantom_index(top - 3), round(lung[1]), round(lung[0]), slices=SLICES, size=SIZE
    )
    assert hu == phantom.LUNG_HU
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    settle(page)
    assert grey_at(page, *lung) <= 5
    # ... and towards the feet the same point is soft tissue, mid-grey.
    page.keyboard.press("Home")
    settle(page)
    assert page.evaluate("window.viewer.getState().viewports[0].slice") == 0
    assert (
        phantom.expected_hu(
            phantom_index(0), round(lung[1]), round(lung[0]), slices=SLICES, size=SIZE
        )
        == 40.0
    )
    assert 110 <= grey_at(page, *lung) <= 145
    # The mouse wheel scrolls too.
    box = page.locator(".vp").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):
        page.mouse.wheel(0, 100)
    page.wait_for_function("window.viewer.getState().viewports[0].slice === 5")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / "viewer-phantom.png")


def test_window_presets_match_values_computed_from_hu(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    spine = pixel_of(0.0, 70.0)  # cancellous bone at the vertebral centre (250 HU)
    soft = pixel_of(40.0, -60.0)  # soft tissue (40 HU), anterior
    for key, center, width in [("1", 40, 400), ("2", -600, 1500), ("3", 400, 1800)]:
        page.keyboard.press(key)
        settle(page)
        state = page.evaluate("window.viewer.getState().viewports[0]")
        assert (state["center"], state["width"]) == (center, width)
        for point, hu in ((soft, 40.0), (spine, phantom.CANCELLOUS_BONE_HU)):
            expected = int(window_to_grey(np.array([hu], dtype=np.float32), center, width)[0])
            # Noise is 8 HU; in a 400 HU window that is ~5 grey levels.
            tolerance = max(3, math.ceil(3 * 8 * 255 / width))
            got = grey_at(page, *point)
            assert abs(got - expected) <= tolerance, (key, hu, got, expected)


def test_length_across_the_vertebral_body(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    level = page.evaluate("window.viewer.getState().viewports[0].slice")
    spine_y = 70.0 + 4.0 * math.sin(2.0 * math.pi * phantom_index(level) / (SLICES - 1))
    left, right = pixel_of(-18.0, spine_y), pixel_of(18.0, spine_y)  # cortical edge to edge: 36 mm
    page.keyboard.press("l")
    drag(page, mouse_at(page, *left), mouse_at(page, *right))
    label = page.locator("g.ann-length text")
    label.wait_for()
    value = float(label.text_content().split()[0])
    assert abs(value - 36.0) <= SPACING, value
    page.wait_for_function("window.viewer.annotations.size > 0")
    saved = page.evaluate("[...window.viewer.annotations.values()].flat()")
    assert saved[0]["kind"] == "length" and saved[0]["version"] == 1
    # The server's maths agrees with the browser's.
    p0, p1 = saved[0]["points"]
    assert abs(measure.length_mm(p0, p1, (SPACING, SPACING)) - value) < 0.05


def saved_angle(page) -> dict:
    page.wait_for_function("[...window.viewer.annotations.values()].flat().some(a => a.id)")
    saved = page.evaluate("[...window.viewer.annotations.values()].flat()")
    assert len(saved) == 1
    return saved[0]


def angle_label(page) -> float:
    label = page.locator("g.ann-angle text")
    label.wait_for()
    text = label.text_content()
    assert text.endswith("°"), text
    return float(text.rstrip("°"))


def test_angle_drawn_by_drag_then_click(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    # One arm 40 mm to the right, the other 40 mm up and 40 mm right: 45 degrees.
    vertex, arm, other = pixel_of(-20.0, 0.0), pixel_of(20.0, 0.0), pixel_of(20.0, -40.0)
    page.keyboard.press("a")
    drag(page, mouse_at(page, *arm), mouse_at(page, *vertex))
    end = mouse_at(page, *other)
    page.mouse.move(end[0] - 30, end[1] + 20, steps=3)
    page.mouse.move(*end, steps=3)
    page.mouse.click(*end)
    value = angle_label(page)
    saved = saved_angle(page)
    assert saved["kind"] == "angle" and saved["version"] == 1
    assert len(saved["points"]) == 3
    # The vertex is the middle point, and the server's maths agrees with the label.
    spacing = (SPACING, SPACING)
    assert abs(measure.angle_deg(*saved["points"], spacing) - 45.0) < 1.5
    assert abs(measure.angle_deg(*saved["points"], spacing) - value) < 0.05
    assert abs(saved["points"][1][0] - vertex[0]) < 1.5
    assert not page.get_by_text("takes 3 points").count()


def test_angle_drawn_by_three_clicks(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    a, vertex, b = pixel_of(-40.0, -20.0), pixel_of(0.0, -20.0), pixel_of(0.0, 20.0)  # 90 degrees
    page.keyboard.press("a")
    for point in (a, vertex, b):
        page.mouse.click(*mouse_at(page, *point))
    value = angle_label(page)
    saved = saved_angle(page)
    assert len(saved["points"]) == 3
    assert abs(value - 90.0) < 1.5, value


def test_ellipse_roi_reads_the_liver(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    # The liver is widest three quarters of the way down the phantom.
    liver_slice = SLICES - 1 - round(0.675 * (SLICES - 1))
    page.evaluate(f"window.viewer.setSlice({liver_slice})")
    settle(page)
    centre = pixel_of(-70.0, -10.0)
    radius = 20.0 / SPACING
    page.keyboard.press("e")
    drag(
        page,
        mouse_at(page, centre[0] - radius, centre[1] - radius),
        mouse_at(page, centre[0] + radius, centre[1] + radius),
    )
    roi = page.locator("g.ann-ellipse")
    roi.locator("text").wait_for()
    mean = float(roi.get_attribute("data-mean"))
    sd = float(roi.get_attribute("data-sd"))
    assert abs(mean - phantom.LIVER_HU) < 2.5, mean
    assert 5 < sd < 11, sd  # the phantom's 8 HU noise


def test_key_image_appears_on_the_case_page(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    page.keyboard.press("2")
    page.once("dialog", lambda dialog: dialog.accept("Lung window, mid chest"))
    page.keyboard.press("k")
    page.get_by_text("Key image saved").wait_for()
    page.goto(f"{daphne_server.url}/cases/{phantom_case.uuid}/")
    figure = page.locator("#key-images").get_by_text("Lung window, mid chest")
    figure.wait_for()
    # The thumbnail loads lazily: a reader scrolls to it (the clinical record above it has
    # grown the page).
    figure.scroll_into_view_if_needed()
    image = page.locator("#key-images img").first
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())


def test_state_round_trips_and_reproduces_pixels_on_a_second_page(
    phantom_case, daphne_server, new_context
):
    first = open_viewer(new_context, daphne_server.url, phantom_case)
    first.evaluate(
        """() => { const v = window.viewer; v.setSlice(7); v.applyPreset('bone');
                   v.zoomBy(1.6); v.rotate(90); v.flip('h'); }"""
    )
    first.evaluate("window.viewer.update(0, {pan: [12.5, -8]})")
    settle(first)
    state = first.evaluate("window.viewer.getState()")
    before = canvas_digest(first)
    changes = first.evaluate(
        """async () => { let n = 0; const off = window.viewer.onChange(() => n++);
                         await window.viewer.setState(window.viewer.getState());
                         await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
                         off(); return n; }"""
    )
    assert changes == 0
    assert first.evaluate("window.viewer.getState()") == state
    assert canvas_digest(first) == before

    second = open_viewer(new_context, daphne_server.url, phantom_case, username="surgeon")
    assert canvas_digest(second) != before
    second.evaluate("state => window.viewer.setState(state)", state)
    settle(second)
    assert second.evaluate("window.viewer.getState()") == state
    assert canvas_digest(second) == before


def test_redraw_stays_fast_while_scrolling_and_windowing(phantom_case, daphne_server, new_context):
    """Not a timing assertion: the page measures itself and the figure must be recorded."""
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    stats = page.evaluate(
        """async () => {
          const v = window.viewer;
          for (let i = 0; i < 20; i++) {
            v.setWindow(40 + i, 400 + 2 * i); v.scroll(i % 2 ? 1 : -1);
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
          }
          return v.stats; }"""
    )
    assert stats["count"] >= 20
    assert stats["last"] > 0
    assert page.locator("[data-redraw]").inner_text().endswith("ms")


def test_pure_functions_agree_with_python(phantom_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, phantom_case)
    values = [-1000.0, -161.0, -160.0, -159.5, 0.0, 39.5, 40.0, 100.0, 239.0, 239.5, 3000.0]
    js = page.evaluate(
        """async (values) => {
          const lut = await import('/static/js/viewer/lut.js');
          return values.map(v => lut.windowValue(v, 40, 400)); }""",
        values,
    )
    py = window_to_grey(np.array(values, dtype=np.float32), 40, 400).tolist()
    assert js == py

    rng = np.random.default_rng(3)
    image = rng.integers(0, 4096, size=(40, 50)).astype(np.uint16)
    p0, p1 = [7.3, 5.1], [31.8, 27.4]
    js_stats = page.evaluate(
        """async ([values, p0, p1]) => {
          const m = await import('/static/js/viewer/measure.js');
          return m.ellipseStats(Uint16Array.from(values), 50, 40, p0, p1, 1, -1024, [0.7, 0.9]); }""",
        [image.ravel().tolist(), p0, p1],
    )
    py_stats = measure.ellipse_stats(image.astype(np.float64) - 1024, p0, p1, spacing=(0.7, 0.9))
    assert js_stats["pixels"] == py_stats["pixels"]
    for key, py_key in (
        ("mean", "mean"),
        ("sd", "sd"),
        ("min", "min"),
        ("max", "max"),
        ("areaMm2", "area_mm2"),
    ):
        assert abs(js_stats[key] - py_stats[py_key]) < 1e-6, key

    geometry = page.evaluate(
        """async () => {
          const g = await import('/static/js/viewer/geometry.js');
          const view = {zoom: 2, pan: [10, -5], rotation: 90, flipH: true, flipV: false};
          const m = g.viewTransform(view, 256, 256, 800, 600);
          const p = g.apply(m, [30, 40]);
          return {
            roundTrip: g.apply(g.invert(m), p),
            centre: g.apply(m, [128 + 10, 128 - 5]),
            labels: g.orientationLabels([1, 0, 0, 0, 1, 0], {zoom: 1, pan: [0, 0], rotation: 0, flipH: false, flipV: false}),
            turned: g.orientationLabels([1, 0, 0, 0, 1, 0], {zoom: 1, pan: [0, 0], rotation: 90, flipH: false, flipV: false}),
          }; }"""
    )
    assert geometry["roundTrip"] == pytest.approx([30, 40])
    assert geometry["centre"] == pytest.approx([400, 300])  # the pan point sits at the centre
    assert geometry["labels"] == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert geometry["turned"] == {"left": "P", "right": "A", "top": "R", "bottom": "L"}


def test_viewer_page_is_refused_to_outsiders(phantom_case, daphne_server, new_context):
    page = new_context().new_page()
    page.goto(f"{daphne_server.url}/accounts/login/")
    page.get_by_label("Username").fill("outsider")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{daphne_server.url}/")
    response = page.goto(f"{daphne_server.url}/cases/{phantom_case.uuid}/viewer/")
    assert response.status == 404
    assert Series.objects.filter(study__case=phantom_case).count() == 1


def test_own_annotations_are_edited_and_deleted_others_are_not(
    phantom_case, daphne_server, new_context
):
    from imaging.models import Annotation

    page = open_viewer(new_context, daphne_server.url, phantom_case)
    a, b, c = pixel_of(-40.0, -40.0), pixel_of(20.0, -40.0), pixel_of(20.0, 10.0)
    page.keyboard.press("l")
    drag(page, mouse_at(page, *a), mouse_at(page, *b))
    page.wait_for_function("[...window.viewer.annotations.values()].flat().length === 1")
    first = float(page.locator("g.ann-length text").text_content().split()[0])
    assert abs(first - 60.0) <= SPACING
    # Drag the end point of one's own line: the server stores version 2.
    drag(page, mouse_at(page, *b), mouse_at(page, *c))
    page.wait_for_function("[...window.viewer.annotations.values()].flat()[0].version === 2")
    annotation = Annotation.objects.get()
    assert annotation.version == 2
    moved = float(page.locator("g.ann-length text").text_content().split()[0])
    assert abs(moved - math.hypot(60.0, 50.0)) <= SPACING

    # Another panelist sees it but cannot move it: a drag there pans or windows instead.
    other = open_viewer(new_context, daphne_server.url, phantom_case, username="surgeon")
    other.locator("g.ann-length").wait_for()
    drag(other, mouse_at(other, *c), mouse_at(other, *b))
    annotation.refresh_from_db()
    assert annotation.version == 2

    # Its author deletes it with the keyboard.
    page.locator("g.ann-length").focus()
    page.keyboard.press("Delete")
    page.wait_for_function("[...window.viewer.annotations.values()].flat().length === 0")
    annotation.refresh_from_db()
    assert annotation.deleted_at is not None


def test_colour_multiframe_and_monochrome1_images(cast, daphne_server, new_context):
    from tests.imaging.dicom import ct_dataset, to_bytes

    case = make_case(cast, status="in_review")
    # An ultrasound-like RGB image: four coloured quadrants.
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[:16, :16] = (200, 30, 30)
    rgb[:16, 16:] = (30, 200, 30)
    rgb[16:, :16] = (30, 30, 200)
    rgb[16:, 16:] = (240, 240, 240)
    us = ct_dataset(rows=32, columns=32, modality="US")
    us.SamplesPerPixel, us.PhotometricInterpretation, us.PlanarConfiguration = 3, "RGB", 0
    us.BitsAllocated, us.BitsStored, us.HighBit = 8, 8, 7
    del us.RescaleIntercept, us.RescaleSlope, us.WindowCenter, us.WindowWidth
    us.PixelData = rgb.tobytes()
    # A three-frame grey instance, and a MONOCHROME1 one (high values shown dark).
    frames = np.stack([np.full((16, 16), 1024 + v, dtype=np.uint16) for v in (-160, 40, 240)])
    multi = ct_dataset(rows=16, columns=16, values=frames)
    multi.NumberOfFrames = 3
    mono1 = ct_dataset(rows=16, columns=16, values=np.full((16, 16), 1024 + 240, dtype=np.uint16))
    mono1.PhotometricInterpretation = "MONOCHROME1"
    files = [
        (name, io.BytesIO(to_bytes(ds))) for name, ds in (("us", us), ("mf", multi), ("m1", mono1))
    ]
    batch = ingest_many(case=case, by=cast.radiologist, files=files)
    assert [r.status for r in batch.results] == ["stored"] * 3
    series = {r.name: str(r.instance.series.uuid) for r in batch.results}

    page = open_viewer(new_context, daphne_server.url, case)

    def show(name):
        page.evaluate("id => window.viewer.openSeries(id)", series[name])
        page.wait_for_function(
            "id => window.viewer.getState().viewports[0].series === id && window.viewer.loaders.get(id)?.loader.loaded === window.viewer.loaders.get(id)?.loader.count",
            arg=series[name],
        )
        settle(page)

    def rgb_at(col, row):
        return page.evaluate(
            """([c, r]) => { const vp = window.viewer.viewports[0]; const [x, y] = vp.imageToCanvas([c, r]);
                 return [...vp.canvas.getContext('2d').getImageData(Math.floor(x), Math.floor(y), 1, 1).data].slice(0, 3); }""",
            [col, row],
        )

    show("us")
    assert rgb_at(8, 8) == [200, 30, 30]
    assert rgb_at(24, 24) == [240, 240, 240]
    assert page.locator(".vp-warning").first.is_visible()  # US may carry burned-in text

    show("mf")
    assert (
        page.evaluate("id => window.viewer.loaders.get(id).manifest.slices.length", series["mf"])
        == 3
    )
    page.evaluate("window.viewer.setSlice(0)")
    settle(page)
    assert page.locator(".vp-tr").first.inner_text().startswith("Slice 1 / 3 · frame 1/3")
    first = grey_at(page, 8, 8)
    page.keyboard.press("ArrowDown")
    settle(page)
    second = grey_at(page, 8, 8)
    assert first == 0 and 120 <= second <= 135  # -160 HU and 40 HU in a 40/400 window

    show("m1")
    assert grey_at(page, 8, 8) == 0  # 240 HU is the top of the window: white, inverted to black


def test_an_annotation_appears_on_another_panelists_open_viewer(
    phantom_case, daphne_server, new_context
):
    watcher = open_viewer(new_context, daphne_server.url, phantom_case, username="surgeon")
    watcher.locator("[data-viewer][data-live='open']").wait_for()
    author = open_viewer(new_context, daphne_server.url, phantom_case)
    author.keyboard.press("l")
    drag(
        author, mouse_at(author, *pixel_of(-40.0, -40.0)), mouse_at(author, *pixel_of(20.0, -40.0))
    )
    author.wait_for_function("[...window.viewer.annotations.values()].flat().length === 1")
    # Without a reload, the other viewer shows it (same slice: both opened the middle one).
    watcher.locator("g.ann-length text").wait_for(timeout=10_000)
    assert watcher.evaluate("[...window.viewer.annotations.values()].flat()[0].mine") is False
