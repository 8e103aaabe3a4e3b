// Wiring of the chat page: connection events in, rendering out, the composer and the log.

import { openConnection } from "./connection.js";
import {
  CHAT_ERROR,
  CHATBOT,
  CHATROOM_USERS,
  ErrorCode,
  JOIN_ROOM,
  LAST_100_MESSAGES,
  LEAVE_ROOM,
  LOAD_HISTORY,
  MESSAGE_DELETED,
  RECEIVE_MESSAGE,
  REMOVED_FROM_ROOM,
  SEND_MESSAGE,
  TYPING,
  USER_TYPING,
} from "./protocol.js";
import {
  clearStatus,
  messageElement,
  pendingElement,
  renderPeople,
  showConnectionState,
  showCounter,
  showPendingState,
  showStatus,
  typingText,
} from "./render.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const me = config.username;

const TYPING_THROTTLE_MS = 2000;
const TYPING_EXPIRES_MS = 5000;
const HISTORY_PAGE = 50;
const NEAR_EDGE_PX = 48;

const $ = (id) => document.getElementById(id);
const log = $("log");
const list = $("messages");
const input = $("message");
const sendButton = $("send");
const newMessagesButton = $("new-messages");
const status = $("status");

// ---- The timeline: shown messages in (time, id) order, then our pending ones ------------

const timeline = []; // [{time, id, element}] sorted; notices have id ""
const shownIds = new Set();
const pending = new Map(); // client_id -> {clientId, text, element, attempt, failed}

const before = (a, b) => a.time < b.time || (a.time === b.time && a.id < b.id);

function firstPendingElement() {
  return pending.size ? pending.values().next().value.element : null;
}

function insertInTimeline(entry) {
  let index = timeline.length;
  while (index > 0 && before(entry, timeline[index - 1])) index -= 1;
  const next = timeline[index]?.element ?? firstPendingElement();
  list.insertBefore(entry.element, next);
  timeline.splice(index, 0, entry);
}

/** Show a message once (by id); returns whether it was new. */
function addMessage(message) {
  const isNotice = message.username === CHATBOT;
  if (!isNotice && (!message.id || shownIds.has(message.id))) return false;
  if (!isNotice) shownIds.add(message.id);
  const element = messageElement(message, { mine: message.username === me });
  insertInTimeline({ time: message.__createdtime__, id: message.id ?? "", element });
  return true;
}

function removeMessage(id) {
  const index = timeline.findIndex((entry) => entry.id === id);
  if (index === -1) return;
  timeline[index].element.remove();
  timeline.splice(index, 1);
  shownIds.delete(id);
}

const oldestMessage = () => timeline.find((entry) => entry.id);
const newestMessage = () => timeline.findLast((entry) => entry.id);

// ---- Scrolling ---------------------------------------------------------------------------

const isAtBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_EDGE_PX;

function scrollToBottom() {
  log.scrollTop = log.scrollHeight;
  newMessagesButton.hidden = true;
}

/** Add messages; follow them down only when the reader was already at the bottom. */
function showNewMessages(messages, { follow = false } = {}) {
  const wasAtBottom = isAtBottom();
  const added = messages.map(addMessage).some(Boolean);
  if (wasAtBottom || follow) scrollToBottom();
  else if (added) newMessagesButton.hidden = false;
}

/** Add older messages above, keeping what the reader looks at in place. */
function showOlderMessages(messages) {
  const fromBottom = log.scrollHeight - log.scrollTop;
  log.setAttribute("aria-busy", "true");
  messages.forEach(addMessage);
  log.scrollTop = log.scrollHeight - fromBottom;
  log.setAttribute("aria-busy", "false");
}

newMessagesButton.addEventListener("click", () => {
  scrollToBottom();
  input.focus();
});

// ---- History -----------------------------------------------------------------------------

let hasOlder = false;
let loadingOlder = false;

function showHistoryEdge() {
  $("log-start").hidden = hasOlder || timeline.length === 0;
}

async function loadOlder() {
  const oldest = oldestMessage();
  if (!hasOlder || loadingOlder || !oldest || !connection.joined) return;
  loadingOlder = true;
  $("older").hidden = false;
  try {
    const ack = await connection.request(LOAD_HISTORY, { before: oldest.id, limit: HISTORY_PAGE });
    if (ack.ok) {
      showOlderMessages(ack.messages);
      hasOlder = ack.has_more;
    }
  } catch {
    // Not connected or no answer: scrolling to the top again tries again.
  } finally {
    loadingOlder = false;
    $("older").hidden = true;
    showHistoryEdge();
  }
}

log.addEventListener("scroll", () => {
  if (log.scrollTop < NEAR_EDGE_PX) loadOlder();
  if (isAtBottom()) newMessagesButton.hidden = true;
});

/** Page back from `oldestId` until we reach messages we already had (after a reconnect). */
async function fillGap({ oldestId, knownNewest }) {
  let beforeId = oldestId;
  for (;;) {
    const ack = await connection.request(LOAD_HISTORY, { before: beforeId, limit: HISTORY_PAGE });
    if (!ack.ok || ack.messages.length === 0) return;
    showOlderMessages(ack.messages);
    const first = ack.messages[0];
    const reached = !before(knownNewest, { time: first.__createdtime__, id: first.id });
    if (reached || !ack.has_more) return;
    beforeId = first.id;
  }
}

// History arrives just before the join's ack; a gap is filled once the join is complete.
let gap = null;

function mergeHistory(messages) {
  messages.forEach(resolvePendingFrom);
  const knownNewest = newestMessage();
  if (!knownNewest) {
    hasOlder = messages.length >= config.historyLimit;
    showNewMessages(messages, { follow: true });
    showHistoryEdge();
    return;
  }
  showNewMessages(messages);
  const first = messages[0];
  if (first && before(knownNewest, { time: first.__createdtime__, id: first.id })) {
    gap = { oldestId: first.id, knownNewest };
  }
}

async function fillGapAfterJoin() {
  const wanted = gap;
  gap = null;
  if (!wanted) return;
  try {
    await fillGap(wanted);
  } catch {
    gap = wanted; // disconnected again: the next join tries again
  }
}

// ---- Sending -----------------------------------------------------------------------------

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function renderPending(entry) {
  showPendingState(entry.element, {
    failed: entry.failed,
    error: entry.error,
    onRetry: () => {
      entry.failed = false;
      renderPending(entry);
      sendPending(entry);
      input.focus();
    },
    onDiscard: () => {
      pending.delete(entry.clientId);
      entry.element.remove();
      input.focus();
    },
  });
}

async function sendPending(entry) {
  if (!connection.joined) return; // sent again once we are back in the room
  const attempt = ++entry.attempt;
  let ack;
  try {
    ack = await connection.request(
      SEND_MESSAGE,
      { message: entry.text, client_id: entry.clientId },
      15000,
    );
  } catch {
    if (attempt !== entry.attempt || !connection.joined) return;
    ack = { ok: false, error: { message: "the server did not answer." } };
  }
  if (attempt !== entry.attempt || !pending.has(entry.clientId)) return;
  if (ack.ok) {
    resolvePending(entry, {
      id: ack.id,
      room: config.room,
      username: me,
      message: entry.text,
      __createdtime__: ack.__createdtime__,
      client_id: entry.clientId,
    });
  } else {
    entry.failed = true;
    entry.error = ack.error.message;
    renderPending(entry);
  }
}

function resolvePending(entry, message) {
  pending.delete(entry.clientId);
  entry.element.remove();
  showNewMessages([message], { follow: true });
}

function resolvePendingFrom(message) {
  const entry = message.client_id && message.username === me && pending.get(message.client_id);
  if (entry) resolvePending(entry, message);
}

function resendPending() {
  for (const entry of pending.values()) if (!entry.failed) sendPending(entry);
}

function messageLength(text) {
  return [...text].length; // code points, as the server counts them
}

function updateComposer() {
  const length = messageLength(input.value);
  showCounter($("message-counter"), length, config.messageMaxLength);
  const over = length > config.messageMaxLength;
  sendButton.disabled = over;
  input.setAttribute("aria-invalid", String(over));
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight}px`;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  input.focus();
  if (!text.trim() || messageLength(text) > config.messageMaxLength) return;
  const entry = { clientId: newClientId(), text, attempt: 0, failed: false };
  entry.element = pendingElement(text, me);
  pending.set(entry.clientId, entry);
  list.append(entry.element);
  renderPending(entry);
  scrollToBottom();
  input.value = "";
  updateComposer();
  stopTyping();
  sendPending(entry);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

// ---- Typing ------------------------------------------------------------------------------

let typingSentAt = 0;

function stopTyping() {
  if (typingSentAt) connection.send(TYPING, { typing: false });
  typingSentAt = 0;
}

input.addEventListener("input", () => {
  updateComposer();
  if (!input.value.trim()) return stopTyping();
  if (Date.now() - typingSentAt >= TYPING_THROTTLE_MS) {
    connection.send(TYPING, { typing: true });
    typingSentAt = Date.now();
  }
});

const typers = new Map(); // username -> expiry timer

function showTypers() {
  $("typing").textContent = typingText([...typers.keys()]);
}

function setTyping(username, typing) {
  clearTimeout(typers.get(username));
  typers.delete(username);
  if (typing && username !== me) {
    typers.set(username, setTimeout(() => setTyping(username, false), TYPING_EXPIRES_MS));
  }
  showTypers();
}

function clearTypers() {
  for (const timer of typers.values()) clearTimeout(timer);
  typers.clear();
  showTypers();
}

// ---- Errors and leaving ------------------------------------------------------------------

function explainRefusal(error) {
  const changeName = { href: config.changeNameUrl, text: "Choose another name" };
  const backToRooms = { href: config.joinUrl, text: "Back to the rooms" };
  if (error.code === ErrorCode.USERNAME_TAKEN) {
    showStatus(status, `Somebody in this room already uses the name “${me}”.`, changeName);
  } else if (error.code === ErrorCode.INVALID_USERNAME) {
    showStatus(status, error.message, changeName);
  } else {
    showStatus(status, error.message, backToRooms);
  }
}

const ACK_HANDLED = new Set([JOIN_ROOM, SEND_MESSAGE, LOAD_HISTORY, LEAVE_ROOM]);

function onChatError(error) {
  if (ACK_HANDLED.has(error.event)) return;
  if (error.event === TYPING && error.code === ErrorCode.RATE_LIMITED) return;
  showStatus(status, error.message);
}

$("leave").addEventListener("click", async () => {
  stopTyping();
  try {
    await connection.request(LEAVE_ROOM, {}, 3000);
  } catch {
    // Leaving anyway: the server's grace period announces the disconnect.
  }
  connection.close();
  window.location.assign(config.joinUrl);
});

// ---- The connection ----------------------------------------------------------------------

const connection = openConnection({
  room: config.room,
  username: me,
  onState: (state) => {
    showConnectionState($("connection"), state);
    if (state === "reconnecting") clearTypers();
  },
  onJoined: (ack) => {
    clearStatus(status);
    renderPeople($("people"), $("people-count"), ack.users, ack.username);
    fillGapAfterJoin();
    // After a reconnect, and for messages typed while the first connection was opening.
    resendPending();
  },
  onJoinRefused: explainRefusal,
  on: {
    [RECEIVE_MESSAGE]: (message) => {
      if (message.username !== CHATBOT) setTyping(message.username, false);
      resolvePendingFrom(message);
      showNewMessages([message]);
      showHistoryEdge();
    },
    [CHATROOM_USERS]: (users) => renderPeople($("people"), $("people-count"), users, me),
    [LAST_100_MESSAGES]: (json) => mergeHistory(JSON.parse(json)),
    [USER_TYPING]: ({ username, typing }) => setTyping(username, typing),
    [MESSAGE_DELETED]: ({ id }) => removeMessage(id),
    [REMOVED_FROM_ROOM]: ({ reason }) => {
      connection.close();
      showStatus(status, reason || "You were removed from this room.", {
        href: config.joinUrl,
        text: "Back to the rooms",
      });
    },
    [CHAT_ERROR]: onChatError,
  },
});

updateComposer();
input.focus();
