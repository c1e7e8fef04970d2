from django.urls import include, path
from listings import views

urlpatterns = [
    path("pictures/", include("picstore.contrib.django.urls")),  # picstore serves its pictures here
    path("", views.index, name="index"),
    path("l/<slug:slug>/edit", views.edit, name="edit"),
    path("l/<slug:slug>", views.show, name="show"),
]
