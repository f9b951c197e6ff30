"""Keeping secrets out of what a run records about its command line."""

from __future__ import annotations

import re

#: Flags whose value is a secret: --api-key, --token, --db-password, --hf_token, ...
_SECRET_FLAG = re.compile(
    r"^--?[\w.-]*(token|secret|passw|password|api[_-]?key|access[_-]?key|credential)[\w.-]*$",
    re.IGNORECASE,
)
#: The user[:password]@ part of any URL in a string.
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")

MASK = "***"


def redact_url_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it masked.

    Example:
        >>> redact_url_credentials("--db postgresql://bob:hunter2@db:5432/x")
        '--db postgresql://***@db:5432/x'
    """
    return _URL_USERINFO.sub(MASK + "@", text)


def redact_args(args: list[str]) -> list[str]:
    """Command-line arguments with secret values masked: the value after (or
    ``=``-joined to) a flag named like a secret, and credentials inside URLs.

    Example:
        >>> redact_args(["train.py", "--api-key", "sk-1", "--token=abc", "--lr", "0.1"])
        ['train.py', '--api-key', '***', '--token=***', '--lr', '0.1']
    """
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if _SECRET_FLAG.match(flag):
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_url_credentials(arg))
    return out
