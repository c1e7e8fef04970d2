"""Settings of the listing site. Rows in ./db.sqlite3; pictures wherever ``PICSTORE`` (or the
``PICSTORE_*`` environment) says: ./picstore-data by default, ``PICSTORE_STORAGE=s3://bucket/prefix``."""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "change-me-for-anything-but-a-demo")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "listing_site.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "picstore.contrib.django",
    "listings",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.contrib.messages.context_processors.messages"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
PICSTORE = {"TENANT": "listings"}  # e.g. {"STORAGE": "s3://bucket/pictures", "DATABASE": "postgresql://..."}
