"""A django-oauth-toolkit OpenID Connect provider for the login tests (loopback, or
the Swarm's gateway address of this machine for a stack's hub).

Everything variable comes from the environment that tests/support/oidc/provider.py
sets: the database file, the RS256 signing key made at fixture start, token lifetime.
"""
import os
from pathlib import Path

HERE = Path(__file__).parent
SECRET_KEY = os.environ["OIDC_TEST_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", os.environ.get("OIDC_TEST_HOST", "127.0.0.1")]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.support.oidc.django_site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [HERE / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["OIDC_TEST_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "/accounts/login/"
# Each provider on loopback has its own port but the same host: distinct cookie
# names keep two providers' sessions apart in one browser.
SESSION_COOKIE_NAME = os.environ.get("OIDC_TEST_COOKIE", "provider") + "_session"
CSRF_COOKIE_NAME = os.environ.get("OIDC_TEST_COOKIE", "provider") + "_csrf"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ["OIDC_TEST_RSA_KEY"],
    "PKCE_REQUIRED": True,
    "ALLOWED_CODE_CHALLENGE_METHODS": ["S256"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("OIDC_TEST_TOKEN_SECONDS", "3600")),
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "your name and username",
        "email": "your email address",
        "groups": "the groups you are in",
    },
    "OAUTH2_VALIDATOR_CLASS": "tests.support.oidc.django_site.validator.GroupsValidator",
}
LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO"},
                "oauth2_provider": {"handlers": ["console"], "level": "INFO"}},
}
