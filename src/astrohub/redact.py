"""A logging filter that keeps OAuth codes, states, tokens and secrets out of logs.

JupyterHub scrubs its own access log, but other lines (tornado's debug output,
oauthenticator's error messages that quote a provider's JSON answer, exception
texts with URLs) can carry an authorization code, a token or a client secret.
The filter sits on the hub's log handler (``c.JupyterHub.logging_config``), so
it sees every line whatever logger wrote it.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

_PARAMS = ("code", "state", "access_token", "refresh_token", "id_token", "client_secret",
           "code_verifier", "token", "password", "session_state")
# name=value in a query string or form body
_QUERY = re.compile(r"(?i)\b(%s)=([^&\s\"']+)" % "|".join(_PARAMS))
# "name": "value" in JSON or a Python dict's repr
_JSON = re.compile(r"(?i)([\"'](?:%s)[\"']\s*:\s*[\"'])([^\"']+)" % "|".join(_PARAMS))
# Authorization headers
_HEADER = re.compile(r"(?i)\b(bearer|basic|token)\s+([A-Za-z0-9._~+/=-]{16,})")
# a JSON Web Token anywhere
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    text = _JWT.sub(MASK, text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON.sub(lambda m: m.group(1) + MASK, text)
    return _HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
