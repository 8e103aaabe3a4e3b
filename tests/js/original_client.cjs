// A client written the way the original Node app's React client talks: the stock
// socket.io-client v4, no acks, `username` and `room` in every payload, JSON.parse on history.
// Usage: node original_client.cjs <server url> <room>. Prints one JSON report on stdout.
const { io } = require("socket.io-client");

const [url, room] = process.argv.slice(2);
const report = { errors: [] };

function client(username) {
  const socket = io(url, { transports: ["polling", "websocket"], reconnection: false });
  const seen = { messages: [], users: [], history: null };
  socket.on("receive_message", (data) => seen.messages.push(data));
  socket.on("chatroom_users", (data) => seen.users.push(data));
  socket.on("last_100_messages", (data) => { seen.history = JSON.parse(data); });
  socket.on("chat_error", (data) => report.errors.push(data));
  socket.on("connect_error", (error) => report.errors.push(String(error)));
  return { socket, seen, username };
}

function until(check, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) { clearInterval(timer); resolve(); }
      else if (Date.now() - started > 5000) { clearInterval(timer); reject(new Error(`timed out: ${what}`)); }
    }, 20);
  });
}

async function main() {
  const ana = client("Ana");
  ana.socket.emit("join_room", { username: "Ana", room });
  await until(() => ana.seen.history !== null, "Ana's history");
  ana.socket.emit("send_message", { username: "Ana", room, message: "hello from node", __createdtime__: Date.now() });
  await until(() => ana.seen.messages.some((m) => m.message === "hello from node"), "Ana's echo");

  const bob = client("Bob");
  bob.socket.emit("join_room", { username: "Bob", room });
  await until(() => bob.seen.history !== null, "Bob's history");
  await until(() => ana.seen.users.some((users) => users.length === 2), "roster of two");
  bob.socket.emit("send_message", { username: "Bob", room, message: "hi Ana", __createdtime__: Date.now() });
  await until(() => ana.seen.messages.some((m) => m.message === "hi Ana"), "Bob's message at Ana");
  bob.socket.emit("leave_room", { username: "Bob", room, __createdtime__: Date.now() });
  await until(() => ana.seen.messages.some((m) => m.message === "Bob has left the chat"), "Bob left");

  report.transport = ana.socket.io.engine.transport.name;
  report.ana = ana.seen;
  report.bob = bob.seen;
  ana.socket.close();
  bob.socket.close();
}

main()
  .catch((error) => report.errors.push(String(error)))
  .finally(() => { process.stdout.write(JSON.stringify(report)); });
