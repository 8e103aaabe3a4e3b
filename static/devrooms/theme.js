// Light or dark: the system's choice (prefers-color-scheme, through light-dark() in
// chat.css) until the person presses a "Dark theme" toggle; their choice is remembered.
// A classic script in <head>, not a module, so a remembered choice applies before the page
// is first painted.

(() => {
  const KEY = "devrooms:theme";
  const root = document.documentElement;
  const systemDark = matchMedia("(prefers-color-scheme: dark)");

  function remembered() {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null;
    }
  }

  function remember(theme) {
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // Not kept: this page still shows it.
    }
  }

  const isDark = () => (root.dataset.theme ?? (systemDark.matches ? "dark" : "light")) === "dark";

  if (["light", "dark"].includes(remembered())) root.dataset.theme = remembered();

  document.addEventListener("DOMContentLoaded", () => {
    const toggles = document.querySelectorAll("[data-theme-toggle]");
    const show = () => toggles.forEach((t) => t.setAttribute("aria-pressed", String(isDark())));
    for (const toggle of toggles) {
      toggle.hidden = false;
      toggle.addEventListener("click", () => {
        root.dataset.theme = isDark() ? "light" : "dark";
        remember(root.dataset.theme);
        show();
      });
    }
    systemDark.addEventListener("change", show);
    show();
  });
})();
