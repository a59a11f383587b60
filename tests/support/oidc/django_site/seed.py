"""Create the provider's users, groups and the hub's client; JSON spec on stdin."""
import json
import sys

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

spec = json.load(sys.stdin)
for u in spec["users"]:
    user = User.objects.create_user(u["username"], email=u.get("email", ""), password=u["password"])
    for name in u.get("groups", []):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
c = spec["client"]
Application.objects.create(
    name="astroparticle.online hub", client_id=c["client_id"], client_secret=c["client_secret"],
    client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=" ".join(c["redirect_uris"]), algorithm=Application.RS256_ALGORITHM, skip_authorization=True,
)
