from django.urls import path

from rooms import views

urlpatterns = [
    path("", views.join_page, name="join"),
    path("rooms/<str:slug>/", views.chat_page, name="chat"),
]
