"""The live rooms view's WebSocket: staff only; relays the live feed's events."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chatsite.staff_feed import LIVE_ROOMS_GROUP


class LiveRoomsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close()  # before accepting: the handshake is refused with 403
            return
        await self.channel_layer.group_add(LIVE_ROOMS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(LIVE_ROOMS_GROUP, self.channel_name)

    async def live_event(self, message: dict) -> None:
        await self.send_json(message["event"])
