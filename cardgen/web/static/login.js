// The login form: the access token goes in a POST body, never in an address.
"use strict";

(function () {
  const W = JSON.parse(document.getElementById("words").textContent);
  const form = document.getElementById("login-form");
  const field = document.getElementById("token");
  const status = document.getElementById("login-status");
  function csrf() {
    const found = document.cookie.match(/(?:^|;\s*)cardgen_csrf=([^;]*)/);
    return found ? decodeURIComponent(found[1]) : "";
  }
  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("bad", bad);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(W.working, false);
    let answer;
    try {
      answer = await fetch("/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ token: field.value }),
      });
    } catch (error) {
      say(W.network, true);
      return;
    }
    if (answer.ok) {
      window.location.assign("/");
      return;
    }
    say(answer.status === 403 ? W.stale : W.wrong, true);
    field.select();
  });
  field.focus();
})();
