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
        // the page asked for before logging in: the server sends it back only if it is a
        // path of this desk
        body: JSON.stringify({ token: field.value,
          next: new URLSearchParams(window.location.search).get("next") || "/" }),
      });
    } catch (error) {
      say(W.network, true);
      return;
    }
    if (answer.ok) {
      const data = await answer.json();
      window.location.assign(data.next || "/");
      return;
    }
    if (answer.status === 429) {
      const data = await answer.json();
      say(data.message, true);
      return;
    }
    say(answer.status === 403 ? W.stale : W.wrong, true);
    field.select();
  });
  field.focus();
})();
