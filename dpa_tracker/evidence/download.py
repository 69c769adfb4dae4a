"""How a stored file is handed to a browser: names and types that cannot run on the receiver's machine.

Evidence and supporting documents are uploaded by staff and downloaded by clients and auditors. A
file named ``.hta``, ``.bat``, ``.html`` or ``.svg`` would run, or render with the application's
origin, when opened; such a file is renamed with a ``.txt`` suffix and sent as opaque bytes.
"""

from __future__ import annotations

# Executable, scriptable or rendered-as-active-content extensions (Windows, macOS, Linux, browsers, JVM).
ACTIVE_EXTENSIONS = frozenset({
    "app", "application", "apk", "appx", "asp", "aspx", "bash", "bat", "cgi", "chm", "cmd", "com", "cpl",
    "csh", "dll", "desktop", "dmg", "docm", "exe", "gadget", "hta", "htm", "html", "inf", "ins", "isp", "jar",
    "jnlp", "js", "jse", "jsp", "ksh", "lnk", "mht", "mhtml", "msc", "msi", "msix", "msp", "mst", "mjs", "pif",
    "php", "phtml", "pl", "pptm", "ps1", "ps1xml", "ps2", "psc1", "psm1", "py", "pyw", "rb", "reg", "scf", "scr",
    "sct", "sh", "shtml", "svg", "svgz", "swf", "url", "vb", "vbe", "vbs", "wsc", "wsf", "wsh", "xbap", "xht",
    "xhtml", "xlsm", "xml", "xsl", "xslt", "zsh",
})
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
