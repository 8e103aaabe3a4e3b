// The socket.io connection to the chat: joins the room on every (re)connect, reports its
// state, paces what it sends within the server's rate limit, and never sends room events
// while it is not in the room (socket.io would buffer them and deliver them before the join).

import { io } from "../vendor/socket.io-4.8.1.esm.min.js";
import { Pacer } from "./pacing.js";
import { JOIN_ROOM } from "./protocol.js";

export function openConnection({ room, username, rate, on, onState, onJoined, onJoinRefused }) {
  const socket = io({ transports: ["websocket", "polling"] });
  const pacer = new Pacer(rate);
  let joined = false;
  let hasJoinedBefore = false;
  let closed = false;

  for (const [event, handler] of Object.entries(on)) socket.on(event, handler);
  // Leaving the page is a clean goodbye (announced after a short grace period); a lost
  // connection is not, and the server waits longer for it to come back.
  window.addEventListener("pagehide", () => socket.disconnect());

  socket.on("connect", async () => {
    onState("joining");
    pacer.restart();
    let ack;
    try {
      ack = await socket.timeout(10000).emitWithAck(JOIN_ROOM, { username, room });
    } catch {
      socket.disconnect().connect(); // no answer: start over with a fresh connection
      return;
    }
    if (!ack.ok) {
      onState("refused");
      onJoinRefused(ack.error);
      return;
    }
    joined = true;
    onState("connected");
    onJoined(ack);
    hasJoinedBefore = true;
  });

  socket.on("disconnect", (reason) => {
    joined = false;
    if (closed) return;
    onState("reconnecting");
    // After a server-side disconnect socket.io does not reconnect by itself.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.io.on("reconnect_attempt", () => onState("reconnecting"));
  socket.on("connect_error", () => onState(hasJoinedBefore ? "reconnecting" : "connecting"));

  return {
    get joined() {
      return joined && socket.connected;
    },
    /**
     * Emit a room event when the rate limit allows and wait for its ack; rejects when not in
     * the room or on timeout (counted from the emit).
     */
    async request(event, data, timeoutMs = 10000) {
      if (!this.joined) throw new Error("not connected");
      await pacer.take();
      if (!this.joined) throw new Error("not connected");
      return socket.timeout(timeoutMs).emitWithAck(event, data);
    },
    /** Fire-and-forget room event, dropped while not in the room or when sending fast. */
    send(event, data) {
      if (this.joined && pacer.tryTake()) socket.emit(event, data);
    },
    close() {
      closed = true;
      joined = false;
      socket.disconnect();
      onState("closed");
    },
  };
}
