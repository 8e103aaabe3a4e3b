import { io } from "socket.io-client";
const url = process.argv[2]; const n = 200; const prefix = process.argv[3];
const t0 = performance.now();
const sockets = await Promise.all(Array.from({ length: n }, () => new Promise((res, rej) => {
  const s = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  s.once("connect", () => res(s)); s.once("connect_error", rej);
})));
const t1 = performance.now();
await Promise.all(sockets.map((s, i) => new Promise((res) => {
  s.once("last_100_messages", res);
  s.emit("join_room", { username: `u${i}`, room: `${prefix}-${i % 10}` });
})));
const t2 = performance.now();
console.log(JSON.stringify({ connect_s: (t1 - t0) / 1000, join_s: (t2 - t1) / 1000 }));
for (const s of sockets) s.close();
process.exit(0);
