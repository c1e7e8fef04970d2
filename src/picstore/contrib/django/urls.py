"""``path("pictures/", include("picstore.contrib.django.urls"))``: picstore's blob serving and API in the
Django process, under that prefix; the URLs the store hands out follow it."""

from __future__ import annotations

from django.urls import re_path

from picstore.contrib.django import views

app_name = "picstore"
urlpatterns = [re_path(r"^(?P<path>.*)$", views.serve, name="serve")]
