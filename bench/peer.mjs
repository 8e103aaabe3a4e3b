// The benchmark's Node peer: a minimal Socket.IO 4 server doing the fan-out of the protocol
// subset that bench/fanout_load.mjs uses, with no database, so that every DevRooms figure
// of bench/fanout.py also has a ratio to what Node's socket.io does on the same machine.
//
//   join_room {username, room}   -> joins the room (leaving the previous one), sends the
//                                   joiner last_100_messages ("[]"), acks {ok: true}
//   send_message {message, client_id}
//                                -> receive_message {...payload, id, __createdtime__} to
//                                   the whole room, sender included; acks {ok: true, id}
//
// Listens on 127.0.0.1 only and prints {"listening": <port>} once it does.
//
//   node bench/peer.mjs --port 8100
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: options } = parseArgs({ options: { port: { type: "string", default: "0" } } });

const http = createServer();
const io = new Server(http, { maxHttpBufferSize: 1_000_000 });
let lastId = 0;

io.on("connection", (socket) => {
  socket.on("join_room", (payload, ack) => {
    if (socket.data.room !== undefined) socket.leave(socket.data.room);
    socket.data.username = String(payload?.username ?? "");
    socket.data.room = String(payload?.room ?? "");
    socket.join(socket.data.room);
    socket.emit("last_100_messages", "[]");
    if (typeof ack === "function") ack({ ok: true, room: socket.data.room });
  });

  socket.on("send_message", (payload, ack) => {
    const { room, username } = socket.data;
    if (room === undefined) return;
    lastId += 1;
    const id = String(lastId);
    io.to(room).emit("receive_message", {
      ...payload,
      room,
      username,
      id,
      __createdtime__: Date.now(),
    });
    if (typeof ack === "function") ack({ ok: true, id });
  });
});

http.listen(Number(options.port), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ listening: http.address().port })}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
