from oauth2_provider.oauth2_validators import OAuth2Validator


class GroupsValidator(OAuth2Validator):
    """Releases preferred_username with `profile` and the groups claim with `groups`."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups", "preferred_username": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "name": user.get_full_name() or user.username,
            "email": user.email,
            "groups": sorted(g.name for g in user.groups.all()),
        }
