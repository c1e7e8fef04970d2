"""Framework glue: Django (:mod:`picstore.contrib.django`), Flask (:mod:`picstore.contrib.flask`) and the
plain-Python helpers any framework or template engine can call (:mod:`picstore.contrib.pictures`).

Everything here is a thin layer over :class:`~picstore.store.ImageStore` (``urls`` for a page of
pictures in one catalog query) and :mod:`picstore.delivery.html` (the one place picture markup is made).
"""
