"""The security headers every response carries: a Content-Security-Policy the site's own pages satisfy, and the rest.

No hooks: guard.py adds them. Scripts run only from the site itself or when they are one of the inline
scripts of the templates Datasette renders (hashed once, when the site starts); no other inline script
can run (one with a template expression cannot be hashed: put it in static/). Inline styles are
allowed: Datasette's table and query pages write a ``<style>`` block naming the columns shown, and its
SQL editor and the browser's feed viewer add their own.
"""

from __future__ import annotations

import base64
import hashlib
import re

#: Inline scripts written in Datasette's Python code rather than in a template (the table page and the
#: "SQL query took too long" error page); each is hashed as it appears on the page.
KNOWN_INLINE_SCRIPTS = (
    "DATASETTE_ALLOW_FACET = true;",
    "DATASETTE_ALLOW_FACET = false;",
    '\nlet ta = document.querySelector("textarea");\nta.style.height = ta.scrollHeight + "px";\n',
)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

STATIC_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def sha256_source(text: str) -> str:
    """The CSP hash-source of an inline script or style: 'sha256-<base64 digest>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def template_scripts(jinja_env) -> set[str]:
    """The bodies of the inline scripts, without template expressions, of every template the site can render."""
    found = set()
    for name in jinja_env.list_templates():
        if not name.endswith(".html"):
            continue
        source = jinja_env.loader.get_source(jinja_env, name)[0]
        found.update(body for body in _SCRIPT.findall(source) if "{{" not in body and "{%" not in body)
    return found


def content_security_policy(scripts: set[str]) -> str:
    """The policy: same-origin everything, the given inline scripts by hash, never framed."""
    script_hashes = " ".join(sorted(sha256_source(s) for s in scripts))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {script_hashes}".strip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(datasette) -> dict[str, str]:
    """Every security header, the CSP computed from the templates and static files this Datasette serves."""
    scripts = template_scripts(datasette.jinja_env) | set(KNOWN_INLINE_SCRIPTS)
    return {"content-security-policy": content_security_policy(scripts), **STATIC_HEADERS}
