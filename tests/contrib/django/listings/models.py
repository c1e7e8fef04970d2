"""A listing site's model, as the Django example has it: a business and its photo."""

from __future__ import annotations

from django.db import models

from picstore.contrib.django.fields import PictureField
from picstore.contrib.django.storage import PicstoreStorage


def listing_tenant(listing: Listing) -> str:
    """Each listing's pictures belong to its owner's tenant."""
    return listing.owner


class Listing(models.Model):
    name = models.CharField(max_length=100)
    owner = models.CharField(max_length=64, default="acme")
    photo = PictureField(tenant=listing_tenant)
    logo = PictureField(tenant="logos")

    class Meta:
        app_label = "listings"


class Document(models.Model):
    """Code that expects a plain FileField with a Storage."""

    attachment = models.FileField(storage=PicstoreStorage(tenant="files"))

    class Meta:
        app_label = "listings"


class Scan(models.Model):
    """Django's ImageField on the Storage: its dimensions are read back through the storage."""

    image = models.ImageField(
        storage=PicstoreStorage(tenant="files"), width_field="width", height_field="height"
    )
    width = models.IntegerField(null=True)
    height = models.IntegerField(null=True)

    class Meta:
        app_label = "listings"
