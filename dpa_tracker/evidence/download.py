"""How a stored file is handed to a browser: names and types that cannot run on the receiver's machine.

Evidence and supporting documents are uploaded by staff and downloaded by clients and auditors. A
file named ``.hta``, ``.bat``, ``.html`` or ``.svg`` would run, or render with the application's
origin, when opened; such a file is renamed with a ``.txt`` suffix and sent as opaque bytes.
"""

from __future__ import annotations

import hashlib

from flask import Response, abort, current_app, send_file

from dpa_tracker.evidence.services import evidence_store
from dpa_tracker.models import Evidence

# Executable, scriptable or rendered-as-active-content extensions (Windows, macOS, Linux, browsers, JVM).
ACTIVE_EXTENSIONS = frozenset(
    {
        "app",
        "application",
        "apk",
        "appx",
        "asp",
        "aspx",
        "bash",
        "bat",
        "cgi",
        "chm",
        "cmd",
        "com",
        "cpl",
        "csh",
        "dll",
        "desktop",
        "dmg",
        "docm",
        "exe",
        "gadget",
        "hta",
        "htm",
        "html",
        "inf",
        "ins",
        "isp",
        "jar",
        "jnlp",
        "js",
        "jse",
        "jsp",
        "ksh",
        "lnk",
        "mht",
        "mhtml",
        "msc",
        "msi",
        "msix",
        "msp",
        "mst",
        "mjs",
        "pif",
        "php",
        "phtml",
        "pl",
        "pptm",
        "ps1",
        "ps1xml",
        "ps2",
        "psc1",
        "psm1",
        "py",
        "pyw",
        "rb",
        "reg",
        "scf",
        "scr",
        "sct",
        "sh",
        "shtml",
        "svg",
        "svgz",
        "swf",
        "url",
        "vb",
        "vbe",
        "vbs",
        "wsc",
        "wsf",
        "wsh",
        "xbap",
        "xht",
        "xhtml",
        "xlsm",
        "xml",
        "xsl",
        "xslt",
        "zsh",
    }
)
OPAQUE_TYPE = "application/octet-stream"


def extension_of(filename: str) -> str:
    # Windows drops trailing dots and spaces, so "run.hta. " opens as "run.hta".
    stem = filename.rstrip(". ")
    return stem.rsplit(".", 1)[-1].lower() if "." in stem else ""


def safe_download(filename: str, content_type: str | None) -> tuple[str, str]:
    """The (download name, content type) to send a stored file under.

    The stored type was sniffed from the bytes (``store.sniff``), so an HTML or SVG file is stored as
    text/plain: only the name can make it active, and the name alone decides."""
    if extension_of(filename) in ACTIVE_EXTENSIONS:
        return filename.rstrip(". ") + ".txt", OPAQUE_TYPE
    return filename, content_type or OPAQUE_TYPE


def send_evidence_file(evidence: Evidence) -> Response:
    if evidence.sha256 is None:
        abort(404, description="This evidence has no file.")
    return send_stored_file(evidence.sha256, evidence.content_type, evidence.filename or f"evidence-{evidence.id}")


def send_stored_file(sha256: str, content_type: str | None, filename: str) -> Response:
    """Send a stored file as an attachment after checking it still matches its hash."""
    store = evidence_store()
    if not store.exists(sha256):
        current_app.logger.error("evidence file %s is missing", sha256)
        abort(410, description="The stored file is missing; run `evidence verify` and restore it from backup.")
    digest = hashlib.sha256()
    with store.open(sha256) as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        current_app.logger.error("evidence file %s was altered", sha256)
        abort(409, description="The stored file no longer matches its recorded hash; it will not be served.")
    download_name, mimetype = safe_download(filename, content_type)
    response = send_file(
        store.path_for(sha256),
        mimetype=mimetype,
        as_attachment=True,
        download_name=download_name,
        conditional=False,
        etag=sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
