"""Django: ``picstore.contrib.django`` in ``INSTALLED_APPS``, settings in ``settings.PICSTORE``.

- :class:`~picstore.contrib.django.fields.PictureField`: a model field holding an image id whose value
  has ``.url(variant, format)``, ``.width``, ``.height``, ``.alt``, ``.srcset(format)``; deleting the row
  deletes the image;
- :class:`~picstore.contrib.django.forms.PictureFormField`: uploads checked by picstore's ingest (a refusal
  is a form error with picstore's message);
- ``{% load picstore %}{% picture listing.photo "card" sizes="..." %}``;
- ``path("pictures/", include("picstore.contrib.django.urls"))``: blob serving and the API in-process;
- :class:`~picstore.contrib.django.storage.PicstoreStorage`: a ``Storage`` whose saves go through ingest.
"""
