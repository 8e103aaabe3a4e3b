// The wire protocol's names, defined once on the page. They are the server's own:
// chatsite/events.py for events, the ChatBot's name and its fixed texts, chatsite/errors.py
// for error codes.

// client -> server
export const JOIN_ROOM = "join_room";
export const SEND_MESSAGE = "send_message";
export const LEAVE_ROOM = "leave_room";
export const LOAD_HISTORY = "load_history";
export const TYPING = "typing";
export const EDIT_MESSAGE = "edit_message";
export const DELETE_MESSAGE = "delete_message";

// server -> client
export const RECEIVE_MESSAGE = "receive_message";
export const CHATROOM_USERS = "chatroom_users";
export const LAST_100_MESSAGES = "last_100_messages";
export const USER_TYPING = "user_typing";
export const MESSAGE_DELETED = "message_deleted";
export const MESSAGE_EDITED = "message_edited";
export const REMOVED_FROM_ROOM = "removed_from_room";
export const CHAT_ERROR = "chat_error";
export const ROSTER_CHANGES = "roster_changes";

export const CHATBOT = "ChatBot";

/** ChatBot's greeting to a joiner (chatsite/events.py `welcome_text`). */
export const welcomeText = (username) => `Welcome ${username}`;

/** Why a connection was taken out of its room: `removed_from_room`'s `kind`. */
export const RemovalKind = Object.freeze({
  REMOVED: "removed",
  BANNED: "banned",
  CLOSED: "closed",
  RENAMED: "renamed",
});

/** Every `code` an error can carry. */
export const ErrorCode = Object.freeze({
  INVALID_PAYLOAD: "invalid_payload",
  INVALID_USERNAME: "invalid_username",
  INVALID_ROOM: "invalid_room",
  USERNAME_TAKEN: "username_taken",
  ROOM_NOT_FOUND: "room_not_found",
  ROOM_CLOSED: "room_closed",
  ROOM_FULL: "room_full",
  BANNED: "banned",
  NOT_IN_ROOM: "not_in_room",
  MESSAGE_NOT_FOUND: "message_not_found",
  NOT_YOUR_MESSAGE: "not_your_message",
  EDIT_TOO_LATE: "edit_too_late",
  MESSAGE_EMPTY: "message_empty",
  MESSAGE_TOO_LONG: "message_too_long",
  RATE_LIMITED: "rate_limited",
  UNAVAILABLE: "unavailable",
  INTERNAL_ERROR: "internal_error",
});
