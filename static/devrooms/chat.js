// Wiring of the chat page: connection events in, rendering out, the composer and the log.

import {
  lastSeenRead,
  lastSeenWrite,
  mentionNotifications,
  pageHidden,
  unreadTitle,
} from "./attention.js";
import { MessageChanges } from "./changes.js";
import { openConnection } from "./connection.js";
import { NO_ANSWER, errorText } from "./errors.js";
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
  MESSAGE_EDITED,
  RECEIVE_MESSAGE,
  REMOVED_FROM_ROOM,
  RemovalKind,
  SEND_MESSAGE,
  TYPING,
  USER_TYPING,
  welcomeText,
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
import { Timeline, before } from "./timeline.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const me = config.username;

const TYPING_THROTTLE_MS = 2000;
const TYPING_EXPIRES_MS = 5000;
const HISTORY_PAGE = 50;
const NEAR_EDGE_PX = 48;
const RATE_LIMITED_RETRY_MS = 1000;

const $ = (id) => document.getElementById(id);
const log = $("log");
const list = $("messages");
const input = $("message");
const sendButton = $("send");
const newMessagesButton = $("new-messages");
const status = $("status");

// ---- People ------------------------------------------------------------------------------

let people = []; // the room's usernames, for @mentions

function showPeople(users) {
  people = users.map((user) => user.username);
  renderPeople($("people"), { heading: $("people-count"), toggle: $("people-toggle") }, users, me);
}

/** While the page is not in the room, who is there is unknown: the list is shown greyed. */
function showPresenceKnown(known) {
  $("people").dataset.presence = known ? "known" : "unknown";
}

$("people-toggle").addEventListener("click", () => {
  const open = $("people-toggle").getAttribute("aria-expanded") !== "true";
  $("people-toggle").setAttribute("aria-expanded", String(open));
  document.querySelector(".chat").classList.toggle("chat--people-open", open);
});

// ---- The stream --------------------------------------------------------------------------

const pending = new Map(); // client_id -> {clientId, text, element, attempt, failed}
const timeline = new Timeline(list, {
  firstPending: () => (pending.size ? pending.values().next().value.element : null),
});
const changes = new MessageChanges({
  timeline,
  request: (event, data) => connection.request(event, data),
  context: () => ({ me, people }),
  editSeconds: config.editSeconds,
  limit: config.messageMaxLength,
  onProblem: (text) => showStatus(status, text),
  onDeleted: () => input.focus(),
});
const notifications = mentionNotifications($("notify"), { room: config.room });
const unread = unreadTitle({ onSeen: rememberLastSeen });
let welcomed = false;

/** Remember the newest message shown, while the person can see the page. */
function rememberLastSeen() {
  const newest = timeline.newest();
  if (newest && !pageHidden()) lastSeenWrite(config.room, newest);
}

/** ChatBot's welcome comes with every join; the page shows it on the first one only. */
function isRepeatedWelcome(message) {
  if (message.username !== CHATBOT || message.message !== welcomeText(me)) return false;
  const repeated = welcomed;
  welcomed = true;
  return repeated;
}

/**
 * Show a message once (by id); returns its element when it was new. ChatBot's notices have no
 * id, except its stored announcements, which come both live and in history like messages.
 */
function addMessage(message) {
  const isNotice = message.username === CHATBOT;
  if (message.id && timeline.has(message.id)) {
    if (message.edited_ms) changes.edited(message); // history again, after a reconnect
    return null;
  }
  if (message.id ? changes.isDeleted(message.id) : !isNotice) return null;
  if (isRepeatedWelcome(message)) return null;
  const element = messageElement(message, { me, people });
  timeline.insert({
    time: message.__createdtime__,
    id: message.id ?? "",
    author: isNotice ? null : message.username,
    element,
  });
  if (message.id) changes.shown(message, element);
  return element;
}

/** A message from someone else just arrived live: count it as unread, alert a mention. */
function announceArrival(message, element) {
  if (message.username === CHATBOT || message.username === me) return;
  unread.count();
  if (element.classList.contains("message--mentions-me")) notifications.notify(message);
}

// ---- Scrolling ---------------------------------------------------------------------------

const isAtBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_EDGE_PX;

function scrollToBottom() {
  log.scrollTop = log.scrollHeight;
  newMessagesButton.hidden = true;
}

/**
 * Add messages; follow them down only when the reader was already at the bottom.
 * Returns the new elements (null for a message already shown).
 */
function showNewMessages(messages, { follow = false } = {}) {
  const wasAtBottom = isAtBottom();
  const added = messages.map(addMessage);
  if (wasAtBottom || follow) scrollToBottom();
  else if (added.some(Boolean)) newMessagesButton.hidden = false;
  rememberLastSeen();
  return added;
}

/** Add older messages above, keeping what the reader looks at in place. */
function showOlderMessages(messages) {
  const fromBottom = log.scrollHeight - log.scrollTop;
  messages.forEach(addMessage);
  log.scrollTop = log.scrollHeight - fromBottom;
}

newMessagesButton.addEventListener("click", () => {
  scrollToBottom();
  input.focus();
});

// ---- Loading: the log is aria-busy while history comes in, so it is not read out at once --

const loading = new Set(); // "join", "older", "gap"

function setLoading(what, busy) {
  if (busy) loading.add(what);
  else loading.delete(what);
  log.setAttribute("aria-busy", String(loading.size > 0));
}

async function whileLoading(what, work) {
  setLoading(what, true);
  try {
    return await work();
  } finally {
    setLoading(what, false);
  }
}

// ---- History -----------------------------------------------------------------------------

let hasOlder = false;
let loadingOlder = false;
let historyShown = false;

function showHistoryEdge() {
  $("log-start").hidden = hasOlder || timeline.length === 0;
}

async function loadOlder() {
  const oldest = timeline.oldest();
  if (!hasOlder || loadingOlder || !oldest || !connection.joined) return;
  loadingOlder = true;
  $("older").hidden = false;
  try {
    const ack = await whileLoading("older", () =>
      connection.request(LOAD_HISTORY, { before: oldest.id, limit: HISTORY_PAGE }),
    );
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
  const knownNewest = timeline.newest();
  if (!historyShown) {
    historyShown = true;
    hasOlder = messages.length >= config.historyLimit;
    const lastSeen = lastSeenRead(config.room);
    messages.forEach(addMessage);
    timeline.markNewSince(lastSeen, me);
    scrollToBottom();
    rememberLastSeen();
    showHistoryEdge();
    return;
  }
  showNewMessages(messages);
  const first = messages[0];
  if (knownNewest && first && before(knownNewest, { time: first.__createdtime__, id: first.id })) {
    gap = { oldestId: first.id, knownNewest };
  }
}

async function fillGapAfterJoin() {
  const wanted = gap;
  gap = null;
  if (!wanted) return;
  try {
    await whileLoading("gap", () => fillGap(wanted));
  } catch {
    gap = wanted; // disconnected again: the next join tries again
  }
}

// ---- Sending -----------------------------------------------------------------------------

let removed = false;

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function discardPending(entry) {
  pending.delete(entry.clientId);
  entry.element.remove();
  input.focus();
}

function renderPending(entry) {
  showPendingState(entry.element, {
    failed: entry.failed,
    error: entry.error,
    onRetry: removed
      ? null
      : () => {
          entry.failed = false;
          renderPending(entry);
          sendPending(entry);
          input.focus();
        },
    onDiscard: () => discardPending(entry),
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
    ack = { ok: false, error: { message: NO_ANSWER } };
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
  } else if (ack.error.code === ErrorCode.RATE_LIMITED) {
    // The page paces itself; should the server still find it fast, wait and send again.
    setTimeout(() => sendPending(entry), RATE_LIMITED_RETRY_MS);
  } else {
    entry.failed = true;
    entry.error = errorText(ack.error, { limit: config.messageMaxLength });
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
  sendButton.disabled = over || removed;
  input.setAttribute("aria-invalid", String(over));
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight}px`;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  input.focus();
  if (removed || !text.trim() || messageLength(text) > config.messageMaxLength) return;
  const entry = { clientId: newClientId(), text, attempt: 0, failed: false };
  entry.element = pendingElement(text, { me, people });
  pending.set(entry.clientId, entry);
  list.append(entry.element);
  renderPending(entry);
  scrollToBottom();
  input.value = "";
  updateComposer();
  sendPending(entry);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

// ---- Typing ------------------------------------------------------------------------------

// Others stop showing us as typing when our message arrives, so sending needs no
// `typing: false`; the throttle carries on across messages, to spare the rate limit.
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

// ---- Errors, removal and leaving ---------------------------------------------------------

const backToRooms = { href: config.joinUrl, text: "Back to the rooms" };

function explainRefusal(error) {
  const changeName = { href: config.changeNameUrl, text: "Choose another name" };
  if (error.code === ErrorCode.USERNAME_TAKEN) {
    showStatus(status, `Somebody in this room already uses the name “${me}”.`, changeName);
  } else if (error.code === ErrorCode.INVALID_USERNAME) {
    showStatus(status, errorText(error, { limit: config.messageMaxLength }), changeName);
  } else {
    showStatus(status, errorText(error, { limit: config.messageMaxLength }), backToRooms);
  }
}

const ACK_HANDLED = new Set([JOIN_ROOM, SEND_MESSAGE, LOAD_HISTORY, LEAVE_ROOM]);

function onChatError(error) {
  if (ACK_HANDLED.has(error.event)) return;
  if (error.event === TYPING && error.code === ErrorCode.RATE_LIMITED) return;
  showStatus(status, errorText(error, { limit: config.messageMaxLength }));
}

/** Why we are out of the room (`removed_from_room`), in the page's own words by its `kind`. */
function removalText({ kind, reason, moderator_reason: said, new_room: newRoom }) {
  const because = said ? `: ${said}` : ".";
  switch (kind) {
    case RemovalKind.REMOVED:
      return `A moderator removed you from this room${because}`;
    case RemovalKind.BANNED:
      return `A moderator banned you from this room${because}`;
    case RemovalKind.CLOSED:
      return "This room has been closed by a moderator.";
    case RemovalKind.RENAMED:
      return `This room is now called ${newRoom}; join it under its new name.`;
    default:
      return reason || "A moderator removed you from this room.";
  }
}

/** Out of the room for good: say why, show one way back, and stop everything that talks. */
function showRemoved(removal) {
  removed = true;
  connection.close();
  showConnectionState($("connection"), "removed");
  showStatus(status, removalText(removal), backToRooms);
  clearTypers();
  showPeople([]);
  changes.stop();
  input.disabled = true;
  input.placeholder = "You're no longer in this room.";
  updateComposer();
  $("leave").hidden = true;
  for (const entry of pending.values()) {
    entry.attempt += 1; // an answer still on its way changes nothing now
    entry.failed = true;
    entry.error = "you're no longer in this room.";
    renderPending(entry);
  }
  status.querySelector("a").focus();
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
  rate: { rate: config.rateLimit, burst: config.rateBurst },
  onState: (state) => {
    showConnectionState($("connection"), state);
    showPresenceKnown(state === "connected");
    setLoading("join", state === "connecting" || state === "joining");
    if (state === "reconnecting") clearTypers();
  },
  onJoined: (ack) => {
    clearStatus(status);
    showPeople(ack.users);
    fillGapAfterJoin();
    // After a reconnect, and for messages typed while the first connection was opening.
    resendPending();
  },
  onJoinRefused: explainRefusal,
  on: {
    [RECEIVE_MESSAGE]: (message) => {
      // A refusal retold by ChatBot for the original clients: the page shows the error itself.
      if (message.code) return;
      if (message.username !== CHATBOT) setTyping(message.username, false);
      resolvePendingFrom(message);
      const [element] = showNewMessages([message]);
      if (element) announceArrival(message, element);
      showHistoryEdge();
    },
    [CHATROOM_USERS]: showPeople,
    [LAST_100_MESSAGES]: (json) => mergeHistory(JSON.parse(json)),
    [USER_TYPING]: ({ username, typing }) => setTyping(username, typing),
    [MESSAGE_DELETED]: ({ id }) => changes.deleted(id),
    [MESSAGE_EDITED]: (change) => changes.edited(change),
    [REMOVED_FROM_ROOM]: showRemoved,
    [CHAT_ERROR]: onChatError,
  },
});

updateComposer();
input.focus();
