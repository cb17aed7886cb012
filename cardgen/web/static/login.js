// The login form: the access token goes in a POST body, never in an address.
"use strict";

(function () {
  const form = document.getElementById("login-form");
  const status = document.getElementById("login-status");
  function csrf() {
    const found = document.cookie.match(/(?:^|;\s*)cardgen_csrf=([^;]*)/);
    return found ? decodeURIComponent(found[1]) : "";
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "正在登录…";
    let answer;
    try {
      answer = await fetch("/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ token: document.getElementById("token").value }),
      });
    } catch (error) {
      status.textContent = "连不上户卡台（服务器已停止？）。";
      return;
    }
    if (answer.ok) {
      window.location.assign("/");
      return;
    }
    status.textContent = answer.status === 403 ? "页面已过期，请刷新页面后重试。" : "口令不对，请重新输入。";
    document.getElementById("token").select();
  });
  document.getElementById("token").focus();
})();
