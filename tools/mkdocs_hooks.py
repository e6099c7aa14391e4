"""mkdocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

The docstrings use Sphinx roles (:class:`~.x.Y`, :func:`f`) so that they read well in ``help()`` and IDEs;
mkdocstrings renders docstrings as Markdown, which leaves the role names as literal text before the code. The
hook turns each role into the code of the name Sphinx would show: the last dotted part after ``~``, else the
target without its leading dots.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)\.*([^<]+)</code>")


def show_role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def strip_roles(html: str) -> str:
    return ROLE.sub(show_role, html)


def on_page_content(html: str, **kwargs: object) -> str:
    return strip_roles(html)
