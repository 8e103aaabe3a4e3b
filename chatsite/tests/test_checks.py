"""Django's system checks pass (the admin's list columns, settings, URLs...)."""

from django.core.management import call_command


def test_the_system_checks_pass():
    call_command("check", fail_level="ERROR")
