// Load generator of bench/join_storm.py: --clients sockets join ONE room within --seconds
// (evenly spread), while a probe in ANOTHER room joins every 250 ms and times
// join_room -> last_100_messages. With --changes the joiners ask for `roster_changes`
// instead of whole `chatroom_users` lists. Waits until every joiner's roster holds
// everyone (or --settle-max seconds), then prints one JSON line:
//   joined, refused, roster_events, roster_entries_received, converged_ms, probe p50/max.
//
//   node bench/join_storm.mjs --url http://127.0.0.1:8000 --room storm [--clients 1000
//        --seconds 10 --changes]
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: options } = parseArgs({
  options: {
    url: { type: "string" },
    room: { type: "string" },
    clients: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    changes: { type: "boolean", default: false },
    "settle-max": { type: "string", default: "60" },
  },
});
if (!/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(options.url ?? "")) {
  throw new Error("--url must be http://127.0.0.1:<port>: this generator loads loopback only");
}
const clients = Number(options.clients);
const spreadMs = Number(options.seconds) * 1000;
const errors = [];
const note = (error) => errors.length < 10 && errors.push(String(error?.message ?? error));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let rosterEvents = 0;
let rosterEntries = 0;
let refused = 0;
let disconnected = 0;
const members = [];

function joiner(number) {
  const socket = io(options.url, { transports: ["websocket"], reconnection: false });
  const member = { socket, people: new Map() };
  socket.on("chatroom_users", (users) => {
    rosterEvents += 1;
    rosterEntries += users.length;
    member.people = new Map(users.map((user) => [user.id, user]));
  });
  socket.on("roster_changes", ({ joined, left }) => {
    rosterEvents += 1;
    rosterEntries += joined.length + left.length;
    for (const user of joined) member.people.set(user.id, user);
    for (const id of left) member.people.delete(id);
  });
  socket.on("connect_error", note);
  socket.on("disconnect", (reason) => {
    disconnected += 1;
    note(`disconnected: ${reason}`);
  });
  const payload = { username: `storm${number}`, room: options.room, roster_changes: options.changes };
  socket.on("connect", () =>
    socket.emit("join_room", payload, (ack) => {
      if (!ack?.ok) {
        refused += 1;
        note(JSON.stringify(ack?.error));
      }
    }),
  );
  members.push(member);
}

const probes = [];
let probing = true;
async function probe() {
  let number = 0;
  while (probing) {
    const started = performance.now();
    const socket = io(options.url, { transports: ["websocket"], reconnection: false });
    await new Promise((resolve) => {
      const done = () => {
        probes.push(performance.now() - started);
        socket.close();
        resolve();
      };
      socket.on("last_100_messages", done);
      socket.on("connect_error", (error) => {
        note(error);
        socket.close();
        resolve();
      });
      socket.on("connect", () =>
        socket.emit("join_room", { username: `probe${number}`, room: `${options.room}-other` }),
      );
    });
    number += 1;
    await sleep(250);
  }
}

const probing_done = probe();
const started = performance.now();
for (let number = 0; number < clients; number += 1) {
  joiner(number);
  await sleep(spreadMs / clients);
}
const joinedMs = performance.now() - started;
const expected = clients - refused;
const settleUntil = performance.now() + Number(options["settle-max"]) * 1000;
while (performance.now() < settleUntil && members.some((m) => m.people.size < expected - refused)) {
  await sleep(50);
}
const convergedMs = performance.now() - started;
probing = false;
await probing_done;
const sorted = probes.slice().sort((a, b) => a - b);
const result = {
  clients,
  changes: options.changes,
  joined_in_ms: Math.round(joinedMs),
  converged_ms: Math.round(convergedMs),
  converged: members.every((m) => m.people.size >= expected - refused),
  refused,
  disconnected,
  roster_events: rosterEvents,
  roster_entries_received: rosterEntries,
  probe_joins: sorted.length,
  probe_p50_ms: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
  probe_max_ms: sorted.length ? sorted[sorted.length - 1] : null,
  errors,
};
for (const member of members) {
  member.socket.off("disconnect");
  member.socket.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
