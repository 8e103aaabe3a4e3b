// Load generator of bench/fanout.py: socket.io clients on 127.0.0.1 that join rooms, send
// at a fixed total rate and time every delivery. Cheap by design: per message it stores one
// number on send and one on each receipt; sorting and percentiles happen once, at the end.
//
// Load mode (default): --clients N in --rooms R, websocket transport. Every client joins its
// room (join_room with ack; join -> last_100_messages timed); then message i is sent by
// client i % N at start + i / rate, --rate messages/s for --duration seconds, each with a
// unique client_id and its send time in the text. Every receive_message carrying one of our
// client_ids is timed against that send time. Then waits for the rest while they keep
// coming: until --drain seconds pass with no delivery and no ack, or --drain-max seconds.
// "lost" counts deliveries of acked messages that never came; a refused send (ack with
// ok: false) is counted apart, and must deliver nothing.
//
// History mode (--history-joins K --room NAME): K joins one after another, each on a new
// connection, timing join_room -> last_100_messages (after 3 untimed warm-up joins).
//
// --local-addresses A,B,...: client i connects from address i % (their number), e.g.
// 127.0.0.2,127.0.0.3 (all of 127.0.0.0/8 is the loopback on Linux), so that a proxy
// hashing the client address spreads the clients over its upstreams; by default the
// system picks (127.0.0.1).
//
// stdout (load mode): {"phase":"joined"} once every client has joined (the clients stay
// connected until "drained"), {"phase":"sending"} when sending starts and {"phase":"drained"}
// when it is over (the driver reads the server's CPU time at these), then one JSON line with
// the result.
//
//   node bench/fanout_load.mjs --url http://127.0.0.1:8000 [--clients 200 --rooms 10
//        --rate 500 --duration 10 --drain 10 --drain-max 180 --prefix bench
//        --local-addresses 127.0.0.2,127.0.0.3]
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: options } = parseArgs({
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "200" },
    rooms: { type: "string", default: "10" },
    rate: { type: "string", default: "500" },
    duration: { type: "string", default: "10" },
    drain: { type: "string", default: "10" },
    "drain-max": { type: "string", default: "180" },
    prefix: { type: "string", default: `bench-${Date.now()}` },
    "history-joins": { type: "string", default: "0" },
    room: { type: "string" },
    "local-addresses": { type: "string", default: "" },
  },
});
const url = options.url;
if (!/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(url ?? "")) {
  throw new Error("--url must be http://127.0.0.1:<port>: this generator loads loopback only");
}
const localAddresses = options["local-addresses"].split(",").filter(Boolean);
if (!localAddresses.every((address) => /^127\.\d+\.\d+\.\d+$/.test(address))) {
  throw new Error("--local-addresses must be loopback addresses (127.x.y.z)");
}
const CONNECT_TIMEOUT_MS = 20_000;
const errors = [];

function note(error) {
  if (errors.length < 10) errors.push(String(error?.message ?? error));
}

function say(line, then) {
  process.stdout.write(`${JSON.stringify(line)}\n`, then);
}

// Exit once stdout is flushed: process.exit() alone cuts a long line written to a pipe.
function finish(line, code) {
  say(line, () => process.exit(code));
}

function percentiles(samples) {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const at = (share) => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
  const round = (value) => Math.round(value * 100) / 100;
  return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

// engine.io-client hands `localAddress` to the `ws` WebSocket it opens in Node.
function connect(number) {
  const socket = io(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: CONNECT_TIMEOUT_MS,
    ...(localAddresses.length > 0 && {
      localAddress: localAddresses[number % localAddresses.length],
    }),
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

// join_room with ack; resolves with the ms from the emit to last_100_messages, and its length.
function join(socket, username, room) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const refuse = (why) => reject(new Error(`join_room refused: ${JSON.stringify(why)}`));
    socket.once("chat_error", refuse);
    socket.once("last_100_messages", (history) => {
      socket.off("chat_error", refuse);
      resolve({ ms: performance.now() - started, length: JSON.parse(history).length });
    });
    socket.timeout(CONNECT_TIMEOUT_MS).emit("join_room", { username, room }, (error, ack) => {
      if (error || !ack?.ok) refuse(error?.message ?? ack);
    });
  });
}

async function load() {
  const clients = Number(options.clients);
  const rooms = Number(options.rooms);
  const rate = Number(options.rate);
  const total = Math.round(rate * Number(options.duration));
  const roomOf = (client) => client % rooms;
  const roomSize = new Uint16Array(rooms);
  for (let client = 0; client < clients; client += 1) roomSize[roomOf(client)] += 1;

  const joinStarted = performance.now();
  const members = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const connectStarted = performance.now();
      const socket = await connect(client);
      const connectMs = performance.now() - connectStarted;
      const joined = await join(socket, `u${client}`, `${options.prefix}-${roomOf(client)}`);
      return { socket, connectMs, joinMs: joined.ms };
    }),
  );
  const connectJoinSeconds = (performance.now() - joinStarted) / 1000;
  say({ phase: "joined" });

  // Per message: its send time, how often it arrived; per delivery: its latency.
  const sentAt = new Float64Array(total);
  const arrivals = new Uint16Array(total);
  let expected = 0;
  for (let seq = 0; seq < total; seq += 1) expected += roomSize[roomOf(seq % clients)];
  const latencies = new Float64Array(expected);
  let received = 0;
  let duplicates = 0;
  let strays = 0;
  let lastArrival = 0;
  const onMessage = (data) => {
    const now = performance.now();
    const id = data.client_id;
    if (id === undefined) return; // a ChatBot notice
    const seq = id.charCodeAt(0) === 109 ? Number(id.slice(1)) : -1; // "m<seq>"
    if (!(seq >= 0 && seq < total)) strays += 1;
    else if (++arrivals[seq] > roomSize[roomOf(seq % clients)]) duplicates += 1;
    else {
      latencies[received++] = now - sentAt[seq];
      lastArrival = now;
    }
  };
  for (const { socket } of members) {
    socket.on("receive_message", onMessage);
    socket.on("chat_error", (error) => note(`chat_error: ${JSON.stringify(error)}`));
  }

  // Acks: the time to each, and which messages were refused or never answered.
  const ackMs = new Float64Array(total);
  const acked = new Uint8Array(total); // 0 no answer, 1 ok, 2 refused
  let acks = 0;
  const onAck = (seq) => (answer) => {
    ackMs[seq] = performance.now() - sentAt[seq];
    acked[seq] = answer?.ok ? 1 : 2;
    acks += 1;
    if (!answer?.ok) note(`send_message refused: ${JSON.stringify(answer)}`);
  };

  await new Promise((resolve) => setTimeout(resolve, 300)); // let the joins' notices settle
  const cpuBefore = process.cpuUsage();
  say({ phase: "sending" });
  const started = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (sent < due) {
        const seq = sent;
        sent += 1;
        sentAt[seq] = performance.now();
        members[seq % clients].socket.emit(
          "send_message",
          { message: `m${seq} sent at ${sentAt[seq].toFixed(3)}`, client_id: `m${seq}` },
          onAck(seq),
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sendSeconds = (performance.now() - started) / 1000;
  const drainStarted = performance.now();
  await new Promise((resolve) => {
    let progress = -1;
    let progressAt = performance.now();
    const check = () => {
      const now = performance.now();
      if (received + acks !== progress) [progress, progressAt] = [received + acks, now];
      const idle = now - progressAt > Number(options.drain) * 1000;
      const over = now - drainStarted > Number(options["drain-max"]) * 1000;
      if ((received >= expected && acks >= total) || idle || over) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  const deliveringSeconds = (Math.max(lastArrival, started) - started) / 1000;
  say({ phase: "drained" });
  const cpu = process.cpuUsage(cpuBefore);
  for (const { socket } of members) socket.close();

  // A refused send must deliver nothing; an acked one must reach its whole room.
  const tally = { lost: 0, refused: 0, unanswered: 0, deliveredThoughRefused: 0 };
  const unacked = [];
  for (let seq = 0; seq < total; seq += 1) {
    const size = roomSize[roomOf(seq % clients)];
    const arrived = Math.min(arrivals[seq], size);
    if (acked[seq] === 1) tally.lost += size - arrived;
    else {
      unacked.push(seq);
      if (acked[seq] === 2) {
        tally.refused += 1;
        tally.deliveredThoughRefused += arrived;
      } else tally.unanswered += 1;
    }
  }
  return {
    mode: "load",
    clients,
    rooms,
    target_rate: rate,
    messages: total,
    achieved_rate: Math.round(total / sendSeconds),
    send_seconds: Math.round(sendSeconds * 1000) / 1000,
    until_last_delivery_seconds: Math.round(deliveringSeconds * 1000) / 1000,
    delivery_rate: deliveringSeconds > 0 ? Math.round(received / deliveringSeconds) : 0,
    deliveries_expected: expected,
    deliveries_received: received,
    lost: tally.lost,
    duplicates,
    strays,
    acks_ok: total - unacked.length,
    refused: tally.refused,
    unanswered: tally.unanswered,
    delivered_though_refused: tally.deliveredThoughRefused,
    unacked_seqs: unacked,
    latency_ms: percentiles(latencies.subarray(0, received)),
    ack_ms: percentiles(ackMs.filter((_, seq) => acked[seq] === 1)),
    connect_join_seconds: Math.round(connectJoinSeconds * 1000) / 1000,
    connect_ms: percentiles(members.map((member) => member.connectMs)),
    join_history_ms: percentiles(members.map((member) => member.joinMs)),
    generator_cpu_us_per_delivery:
      received > 0 ? Math.round(((cpu.user + cpu.system) / received) * 10) / 10 : null,
    errors,
  };
}

async function history() {
  const joins = Number(options["history-joins"]);
  const warmUps = 3;
  const times = [];
  const lengths = new Set();
  for (let number = 0; number < warmUps + joins; number += 1) {
    const socket = await connect(number);
    const joined = await join(socket, `h${number}`, options.room);
    socket.close();
    if (number >= warmUps) {
      times.push(joined.ms);
      lengths.add(joined.length);
    }
  }
  return {
    mode: "history",
    joins,
    history_lengths: [...lengths],
    join_history_ms: percentiles(times),
    errors,
  };
}

// Bounded in time whatever the server does: give up well after the run should have ended.
const limitSeconds =
  CONNECT_TIMEOUT_MS / 1000 + Number(options.duration) + Number(options["drain-max"]) + 60;
setTimeout(() => {
  finish({ mode: "failed", errors: [...errors, `gave up after ${limitSeconds} s`] }, 2);
}, limitSeconds * 1000).unref();

const work = Number(options["history-joins"]) > 0 ? history() : load();
work
  .then((result) => finish(result, 0))
  .catch((error) => {
    note(error);
    finish({ mode: "failed", errors }, 1);
  });
