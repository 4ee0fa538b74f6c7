"""A referring doctor drops a CD export (a zip and a folder) onto a case, in real Chromium."""

import os
import zipfile
from pathlib import Path

import pytest

from imaging.models import Series
from imaging.phantom import write_phantom
from tests.cases.factories import make_case
from tests.cast import PASSWORD

pytestmark = pytest.mark.browser


def test_zip_and_folder_upload_show_progress_results_and_thumbnails(
    cast, daphne_server, new_context, tmp_path
):
    case = make_case(cast, status="submitted")
    base = daphne_server.url
    cd = tmp_path / "cd"
    paths = write_phantom(cd / "SERIES1", slices=6, size=64)
    (cd / "README.TXT").write_text("Viewer software for Windows\n")
    archive = tmp_path / "cd.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in paths:
            z.write(p, f"DICOM/{p.name}")
        z.writestr("AUTORUN.INF", "[autorun]\n")
    folder = tmp_path / "second"
    write_phantom(folder, slices=53, size=32, seed=11)  # with the zip, more than one batch

    page = new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("referrer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/cases/{case.uuid}/")
    uploads = []
    page.on(
        "request",
        lambda request: (
            uploads.append(request)
            if request.method == "POST" and request.url.endswith("/imaging/")
            else None
        ),
    )

    form = page.locator("form[data-dicom-upload]")
    page.get_by_label("Add DICOM files or a .zip").set_input_files(str(archive))
    page.get_by_label("…or a whole folder (CD export)").set_input_files(str(folder))
    page.get_by_role("button", name="Upload images").click()
    page.locator("form[data-dicom-upload][data-upload-done='true']").wait_for()
    assert form.locator("[data-upload-progress]").get_attribute("value") == "100"
    results = form.locator("[data-upload-results] li")
    texts = results.all_inner_texts()
    assert sum(t.endswith(": stored") for t in texts) == 6 + 53
    assert len(uploads) == 2  # 54 files: a batch of 50, then one of 4
    # The CD's other files are skipped quietly, not reported as failures.
    assert any("AUTORUN.INF" in t and "Ignored" in t for t in texts), texts
    assert form.locator("[data-upload-results] li.error").count() == 0
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=Path(os.environ["SCREENSHOT_DIR"]) / "dicom-upload.png", full_page=True
        )

    # The page reloads by itself and lists both series with their thumbnails.
    page.locator(".series-card").nth(1).wait_for()
    assert Series.objects.filter(study__case=case).count() == 2
    thumbs = page.locator(".series-card img")
    assert thumbs.count() == 2
    # Thumbnails load lazily: bring them into view, then wait until both have decoded.
    thumbs.first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.series-card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
