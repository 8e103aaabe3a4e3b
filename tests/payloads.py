"""Payloads no event may carry, shared by the bad-input and fuzz tests."""


def deep(levels: int) -> dict:
    """`{"message": {"message": ...}}`, `levels` levels deep."""
    value: dict = {}
    for _ in range(levels):
        value = {"message": value}
    return value
