from django.db import models

from picstore.contrib.django.fields import PictureField


def listing_tenant(photo: "Photo") -> str:
    return photo.listing.slug  # each listing's pictures are kept apart in picstore


class Listing(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)


class Photo(models.Model):
    listing = models.ForeignKey(Listing, related_name="photos", on_delete=models.CASCADE)
    picture = PictureField(tenant=listing_tenant, blank=False)  # deleting the photo deletes the picture
    alt = models.CharField("description", max_length=200, blank=True)
