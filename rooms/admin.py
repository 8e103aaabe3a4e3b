from django.contrib import admin

from rooms.models import Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_closed", "created_at"]
    list_filter = ["is_closed"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
