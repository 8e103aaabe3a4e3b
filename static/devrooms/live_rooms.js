// The admin's live rooms view: applies the live feed's events to the table.

const readJson = (id) => JSON.parse(document.getElementById(id).textContent);
const HOUR_MS = 3_600_000;
// "Last hour" counts only go up live; messages ageing out of the hour are caught by reading
// this page's figures again now and then (one request a minute, whatever the traffic).
const RECOUNT_MS = 60_000;
const socketPath = readJson("live-socket-path");
const roomsUrl = readJson("live-rooms-url");

const table = document.getElementById("live-rooms");
const state = document.getElementById("live-state");
const body = table.tBodies[0];

function showState(name, text) {
  state.dataset.state = name;
  state.textContent = text;
}

function formatTime(ms) {
  return ms ? new Date(Number(ms)).toLocaleString() : "–";
}

function rowFor(room) {
  for (const row of body.rows) {
    if (row.dataset.room === room) return row;
  }
  const row = body.insertRow();
  row.dataset.room = room;
  const title = document.createElement("th");
  title.scope = "row";
  title.textContent = room;
  row.appendChild(title);
  for (const name of ["people", "last-hour", "total", "last-message"]) {
    const cell = row.insertCell();
    cell.className = name;
    cell.textContent = name === "people" ? "" : "0";
  }
  const moderate = document.createElement("a");
  moderate.href = `${roomsUrl}?q=${encodeURIComponent(room)}`;
  moderate.textContent = "Find";
  row.insertCell().appendChild(moderate);
  row.querySelector(".people").appendChild(document.createElement("ul"));
  row.querySelector(".last-message").textContent = "–";
  return row;
}

function describePerson(person) {
  const since = new Date(Number(person.since)).toLocaleTimeString();
  const count = Number(person.connections);
  const tabs = count === 1 ? "1 connection" : `${count} connections`;
  return `${person.username} (since ${since}, ${tabs})`;
}

function flash(row) {
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), 1200);
}

function addToCount(row, selector, change) {
  const cell = row.querySelector(selector);
  const value = Number.parseInt(cell.textContent, 10);
  if (!Number.isNaN(value)) cell.textContent = String(Math.max(0, value + change));
}

const handlers = {
  presence(event) {
    const row = rowFor(event.room);
    const list = row.querySelector(".people ul");
    list.replaceChildren(...event.people.map((person) => {
      const item = document.createElement("li");
      item.textContent = describePerson(person);
      return item;
    }));
    flash(row);
  },
  // One event per stored batch: how many messages each room got, and when its last was.
  messages(event) {
    for (const posted of event.rooms) {
      const row = rowFor(posted.room);
      addToCount(row, ".last-hour", posted.count);
      addToCount(row, ".total", posted.count);
      const last = row.querySelector(".last-message");
      last.dataset.ms = posted.created_ms;
      last.textContent = formatTime(posted.created_ms);
      flash(row);
    }
  },
  message_deleted(event) {
    const row = rowFor(event.room);
    addToCount(row, ".total", -1);
    if (Date.now() - Number(event.created_ms) < HOUR_MS) addToCount(row, ".last-hour", -1);
    flash(row);
  },
  room(event) {
    if (event.open) {
      flash(rowFor(event.room));
    } else {
      for (const row of body.rows) {
        if (row.dataset.room === event.room) row.remove();
      }
    }
  },
};

for (const cell of table.querySelectorAll(".last-message")) {
  cell.textContent = formatTime(cell.dataset.ms);
}
for (const item of table.querySelectorAll(".people li[data-since]")) {
  item.textContent = describePerson(item.dataset);
}

let retryDelay = 1000;
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${socketPath}`);
  socket.addEventListener("open", () => {
    retryDelay = 1000;
    showState("live", "Live: updates arrive as they happen.");
  });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    const handler = handlers[event.kind];
    if (handler) handler(event);
  });
  socket.addEventListener("close", () => {
    showState("offline", "Disconnected; reconnecting…");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  });
}
connect();

async function recount() {
  let page;
  try {
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    page = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch {
    return; // offline: the next recount catches up
  }
  for (const fresh of page.querySelectorAll("#live-rooms tbody tr[data-room]")) {
    const row = [...body.rows].find((candidate) => candidate.dataset.room === fresh.dataset.room);
    if (!row) continue;
    for (const name of [".last-hour", ".total"]) {
      row.querySelector(name).textContent = fresh.querySelector(name).textContent;
    }
  }
}
setInterval(recount, RECOUNT_MS);
