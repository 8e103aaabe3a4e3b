// Join page: put the cursor where the person has something to do.

const form = document.querySelector(".join__form");
const invalid = form.querySelector("[aria-invalid='true']");
const username = form.elements.username;
const room = form.elements.room;

if (invalid) invalid.focus();
else if (!username.value) username.focus();
else if (!room.value) room.focus();
else form.querySelector("button[type='submit']").focus();
