from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify

from listings.models import Listing, Photo
from picstore.contrib.django.direct import DirectPictureInput
from picstore.contrib.django.fields import prefetch_pictures


class PhotoForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Photo
        fields = ("picture", "alt")
        # The browser sends the file straight to the bucket (without JavaScript: with the form).
        widgets = {"picture": DirectPictureInput}


def index(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and (name := request.POST.get("name", "").strip()):
        listing, _ = Listing.objects.get_or_create(
            slug=slugify(name)[:50] or "listing", defaults={"name": name}
        )
        return redirect("edit", slug=listing.slug)
    return render(request, "listings/index.html", {"listings": Listing.objects.order_by("name")})


def edit(request: HttpRequest, slug: str) -> HttpResponse:
    # A real site puts this page behind the business owner's login.
    listing = get_object_or_404(Listing, slug=slug)
    form = PhotoForm(request.POST or None, request.FILES or None, instance=Photo(listing=listing))
    if request.method == "POST" and "delete" in request.POST:
        get_object_or_404(Photo, pk=request.POST["delete"], listing=listing).delete()
        return redirect("edit", slug=slug)
    if request.method == "POST" and form.is_valid():
        form.save()  # the picture is checked by the form, stored by picstore here
        messages.info(request, "Picture added.")
        return redirect("edit", slug=slug)
    return render(
        request, "listings/edit.html", {"listing": listing, "form": form, "photos": photos(listing)}
    )


def show(request: HttpRequest, slug: str) -> HttpResponse:
    listing = get_object_or_404(Listing, slug=slug)
    return render(request, "listings/listing.html", {"listing": listing, "photos": photos(listing)})


def photos(listing: Listing) -> list[Photo]:
    found = list(listing.photos.order_by("-id"))
    prefetch_pictures(found, "picture")  # every picture's URLs in one catalog query
    return found
