from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from picstore.contrib.django.fields import prefetch_pictures
from tests.contrib.django.listings.models import Listing

PAGE = engines["django"].from_string(
    "{% load picstore %}{% for l in listings %}<h2>{{ l.name }}</h2>"
    '{% picture l.photo "card" sizes="(max-width: 600px) 100vw, 600px" %}{% endfor %}'
)


def listing_page(request: HttpRequest) -> HttpResponse:
    listings = list(Listing.objects.using(request.GET.get("db", "default")).order_by("id"))
    prefetch_pictures(listings, "photo")
    return HttpResponse(PAGE.render({"listings": listings}, request))


urlpatterns = [
    path("pictures/", include("picstore.contrib.django.urls")),
    path("admin/", admin.site.urls),
    path("", listing_page),
]
