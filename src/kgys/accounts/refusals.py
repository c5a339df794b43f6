"""What the accounts services say when they refuse a user's role, scope or a jurisdiction's parent: sentences
built around the values at fault (:mod:`kgys.said`), said again on a page in its reader's language."""

from __future__ import annotations

from kgys.said import _

NO_SITE_CODE = _("no site with institution code '%(code)s'")
NO_SITE = _("no site %(site)s")
NO_SITE_WITHIN = _("no site '%(code)s' within your scope")
UNKNOWN_ROLE = _("unknown role '%(role)s'; one of %(roles)s")
NO_JURISDICTION = _("no jurisdiction with code '%(code)s'")
OUTSIDE = _("jurisdiction '%(code)s' is outside your scope")
NOT_WITHIN = _("no jurisdiction '%(code)s' within your scope")
NO_PARENT = {"country": _("no country with code '%(code)s'"), "province": _("no province with code '%(code)s'")}
