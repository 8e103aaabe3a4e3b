// What went wrong, in words for the person at the keyboard. Programs go by an error's `code`
// (docs/protocol.md, Part C); its `message` is the server's English and may change, so the
// page words each code itself and falls back to the server's text only for a new code.

import { ErrorCode } from "./protocol.js";

const TEXTS = {
  [ErrorCode.RATE_LIMITED]: "You're sending messages too fast. Wait a moment, then try again.",
  [ErrorCode.MESSAGE_EMPTY]: "There's nothing to send.",
  [ErrorCode.NOT_IN_ROOM]: "You're not in this room right now.",
  [ErrorCode.UNAVAILABLE]: "The chat can't save messages right now. Try again in a moment.",
  [ErrorCode.INTERNAL_ERROR]: "Something went wrong on our side. Try again.",
  [ErrorCode.INVALID_PAYLOAD]: "The chat didn't understand this page. Reload it and try again.",
  [ErrorCode.INVALID_USERNAME]: "This name can't be used here. Choose another one.",
  [ErrorCode.INVALID_ROOM]: "This room name can't be used. Choose another room.",
  [ErrorCode.ROOM_NOT_FOUND]: "This room doesn't exist.",
  [ErrorCode.ROOM_CLOSED]: "A moderator has closed this room.",
  [ErrorCode.EDIT_TOO_LATE]: "It's too late to change this message.",
  [ErrorCode.MESSAGE_NOT_FOUND]: "This message is gone.",
  [ErrorCode.NOT_YOUR_MESSAGE]: "You can only change your own messages.",
};

export const NO_ANSWER = "The chat didn't answer. Check your connection and try again.";

/** The text to show for an error `{code, message}`; `limit` is the longest message allowed. */
export function errorText(error, { limit }) {
  if (error.code === ErrorCode.MESSAGE_TOO_LONG) {
    return `A message can be at most ${limit.toLocaleString()} characters long.`;
  }
  return TEXTS[error.code] ?? error.message;
}
