from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def join_page(request: HttpRequest) -> HttpResponse:
    return render(request, "rooms/join.html")
