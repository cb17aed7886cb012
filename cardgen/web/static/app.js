// The card desk's page: plain JavaScript over the JSON interface of cardgen/web/app.py (its errors: docs/cli.md).
// Data from the registers is only ever put on the page as text (textContent), never as markup.
"use strict";

(function () {
  const W = JSON.parse(document.getElementById("words").textContent);
  const $ = (id) => document.getElementById(id);
  const colours = JSON.parse(document.getElementById("palette").textContent);
  const palette = {};
  colours.forEach((colour) => { palette[colour.colour] = colour; });
  let current = null; // the household whose card is shown
  const watched = new Set(); // jobs this page is waiting for
  const phone = window.matchMedia("(max-width: 760px)"); // as app.css says a phone is

  function say(text, values) {
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in (values || {}) ? values[name] : all));
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined && text !== null) made.textContent = String(text);
    return made;
  }

  function csrf() {
    const found = document.cookie.match(/(?:^|;\s*)cardgen_csrf=([^;]*)/);
    return found ? decodeURIComponent(found[1]) : "";
  }

  // One request to the desk: {ok, status, data} where data is the JSON answer (or a Blob).
  async function api(method, url, body, blob) {
    const options = { method: method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf();
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let answer;
    try {
      answer = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { code: "network", message: W.network } };
    }
    if (answer.status === 401) {
      window.location.assign("/login");
    }
    const json = (answer.headers.get("content-type") || "").startsWith("application/json");
    let data = null;
    if (json) data = await answer.json();
    else if (blob) data = await answer.blob();
    if (answer.status === 403 && data && data.code === "web.csrf") data.message = W.stale;
    return { ok: answer.ok, status: answer.status, data: data, headers: answer.headers };
  }

  function colourChip(key) {
    const colour = palette[key] || { char: "?", hex: "#888888", name: key };
    const chip = element("span", "chip", colour.char);
    chip.style.backgroundColor = colour.hex;
    chip.style.color = inkFor(colour.hex);
    chip.title = colour.name;
    chip.setAttribute("aria-label", colour.name);
    return chip;
  }

  function inkFor(hex) {
    const value = parseInt(hex.slice(1), 16);
    const r = value >> 16, g = (value >> 8) & 255, b = value & 255;
    return (r * 299 + g * 587 + b * 114) / 1000 > 150 ? "#1d232b" : "#ffffff";
  }

  function status(id, text, bad) {
    const place = $(id);
    place.textContent = text || "";
    place.classList.toggle("bad", Boolean(bad));
  }

  function listProblems(id, problems) {
    const list = $(id);
    list.replaceChildren();
    (problems || []).slice(0, 50).forEach((problem) => {
      list.appendChild(element("li", null, problem.message));
    });
    list.hidden = !(problems && problems.length);
  }

  // ---- tabs ---------------------------------------------------------------------------------
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  function choose(tab) {
    tabs.forEach((other) => {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !chosen;
    });
    if (phone.matches && window.scrollY) window.scrollTo(0, 0); // a new view starts at its top
  }
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => choose(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      choose(next);
      next.focus();
    });
  });

  // ---- registers --------------------------------------------------------------------------
  async function overview() {
    const answer = await api("GET", "/api/overview");
    if (!answer.ok) {
      status("registers-status", answer.data ? answer.data.message : W.network, true);
      return;
    }
    const data = answer.data;
    const place = $("registers-status");
    place.replaceChildren();
    place.appendChild(document.createTextNode(W.registers + "（" + data.date + "）："));
    data.registers.forEach((register, index) => {
      if (index) place.appendChild(document.createTextNode("；"));
      if (register.error) {
        place.appendChild(element("span", "bad", register.name + " " + W.unreadable + "：" + register.error.message));
      } else {
        place.appendChild(document.createTextNode(register.name + " " + register.households + " " + W.households +
          (register.errors ? "，" + register.errors + " " + W.errors : "")));
      }
      if (register.book_error) {
        place.appendChild(element("span", "bad", "；" + W.bookUnusable + register.book_error.message));
      }
    });
    if (data.book) place.appendChild(document.createTextNode("；" + W.byBook));
    fillJobForm(data);
  }

  function fillJobForm(data) {
    const registers = data.registers.filter((register) => !register.error);
    const select = $("job-register");
    const chosen = select.value;
    select.replaceChildren();
    registers.forEach((register) => {
      const option = element("option", null, register.name);
      option.value = register.register;
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
    $("job-register-field").hidden = registers.length < 2;
    fillGrids(registers);
    const boxes = $("colour-boxes");
    if (!boxes.childElementCount) {
      colours.forEach((colour) => {
        const label = element("label");
        const box = element("input");
        box.type = "checkbox";
        box.value = colour.colour;
        box.name = "colour";
        label.append(box, " ", colourChip(colour.colour), colour.name);
        boxes.appendChild(label);
      });
    }
    const update = $("update-button");
    update.disabled = !data.book;
    $("update-note").hidden = data.book;
  }

  let registersSeen = [];
  function fillGrids(registers) {
    registersSeen = registers;
    const key = $("job-register").value;
    const register = registers.find((r) => r.register === key) || registers[0];
    const select = $("job-grid");
    const chosen = select.value;
    select.replaceChildren(new Option(W.allGrids, ""));
    (register ? register.grids : []).forEach((grid) => select.appendChild(new Option(grid, grid)));
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  }
  $("job-register").addEventListener("change", () => fillGrids(registersSeen));

  // ---- search -----------------------------------------------------------------------------
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = $("q").value.trim();
    if (!query) {
      status("search-status", W.emptyQuery);
      return;
    }
    status("search-status", W.searching);
    const answer = await api("POST", "/api/search", { q: query });
    const list = $("results");
    list.replaceChildren();
    if (!answer.ok) {
      status("search-status", answer.data.message, true);
      return;
    }
    const found = answer.data.households;
    if (!found.length) status("search-status", W.none);
    else if (answer.data.total > found.length) {
      status("search-status", say(W.foundMore, { n: answer.data.total, shown: found.length }));
    } else status("search-status", say(W.found, { n: found.length }));
    found.forEach((household) => list.appendChild(resultItem(household)));
    if (found.length === 1) show(found[0], list.querySelector("button"));
  });

  function resultItem(household) {
    const item = element("li");
    const button = element("button", "result");
    button.type = "button";
    const line1 = element("span", "line1", household.household_id);
    line1.appendChild(household.in_book === false ? element("span", "number new", W.notInBook)
      : element("span", "number", W.number + " " + household.number));
    const head = household.head ? W.head + " " + household.head : W.vacant;
    const line2 = element("span", "line2", head + " · " + household.address);
    const line3 = element("span", "line3", [household.community, household.grid].filter(Boolean).join(" "));
    household.flags.forEach((flag) => line3.appendChild(element("span", "flag", flag)));
    button.append(colourChip(household.colour), line1, line2, line3);
    if (household.errors) button.appendChild(element("span", "errors", W.hasErrors));
    button.addEventListener("click", () => show(household, button));
    button.addEventListener("keydown", (event) => {
      const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      const buttons = Array.from(document.querySelectorAll("#results .result"));
      const next = buttons[buttons.indexOf(button) + step];
      if (next) next.focus();
    });
    item.appendChild(button);
    return item;
  }

  function householdUrl(household, what, mode) {
    return "/api/households/" + encodeURIComponent(household.household_id) + "/" + what +
      "?mode=" + mode + "&register=" + encodeURIComponent(household.register);
  }

  function mode() {
    return document.querySelector('input[name="mode"]:checked').value;
  }

  // A household new since the book was printed has no number and no card in it yet: its
  // preview is shown, but its card and stickers come with the update packet, not from here.
  function inBook(household) {
    return household.in_book !== false;
  }

  async function show(household, button) {
    current = household;
    // on a phone the card is below the results: bring it into view, now and once drawn
    const bring = () => { if (phone.matches && button) $("card-panel").scrollIntoView({ block: "start" }); };
    bring();
    document.querySelectorAll("#results .result").forEach((other) => {
      if (other === button) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    });
    const title = $("card-title");
    title.replaceChildren(colourChip(household.colour), document.createTextNode(household.household_id +
      " · " + (inBook(household) ? W.number + " " + household.number : W.notInBook)));
    $("mode").disabled = false;
    const printable = inBook(household);
    [["print-routine", "card.pdf", "routine"], ["print-emergency", "card.pdf", "emergency"],
      ["print-stickers", "stickers.pdf", "routine"]].forEach(([id, what, chosen]) => {
      const link = $(id);
      if (printable) link.href = householdUrl(household, what, chosen);
      else link.removeAttribute("href");
      link.hidden = !printable;
    });
    $("print-hint").hidden = !printable;
    $("card-note").hidden = true;
    if (!printable) {
      $("card-note-text").textContent = say(W.notInBookNote, { id: household.household_id }) +
        (household.number_after_update ? say(W.afterUpdate, { number: household.number_after_update }) : "");
    }
    await drawPreview();
    if (household === current) bring();
  }

  async function drawPreview() {
    const household = current;
    if (!household) return;
    const chosen = mode();
    const image = $("preview");
    status("card-status", W.drawing);
    $("card-panel").setAttribute("aria-busy", "true");
    listProblems("card-problems", []);
    const answer = await api("GET", householdUrl(household, "preview.png", chosen), undefined, true);
    if (household !== current || chosen !== mode()) return; // another one was asked for since
    $("card-panel").removeAttribute("aria-busy");
    if (!answer.ok) {
      $("preview-box").hidden = true;
      $("card-actions").hidden = true;
      $("card-note").hidden = true;
      status("card-status", W.cannotPrint + answer.data.message, true);
      listProblems("card-problems", answer.data.problems);
      return;
    }
    if (image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(answer.data);
    image.alt = say(W.previewOf, { id: household.household_id, mode: W[chosen] });
    $("preview-box").hidden = false;
    await image.decode().catch(() => null); // its height known: the page can be scrolled to it
    $("card-actions").hidden = false;
    $("card-note").hidden = inBook(household);
    status("card-status", "");
  }
  $("to-books").addEventListener("click", () => {
    const tab = $("tab-books");
    choose(tab);
    tab.focus();
  });
  $("zoom").addEventListener("click", () => {
    const zoomed = $("preview-box").classList.toggle("zoom");
    $("zoom").setAttribute("aria-pressed", String(zoomed));
  });
  document.querySelectorAll('input[name="mode"]').forEach((radio) => {
    radio.addEventListener("change", drawPreview);
  });

  // ---- jobs -------------------------------------------------------------------------------
  const jobNames = { ledger: W.jobLedger, emergency: W.jobEmergency, stickers: W.jobStickers, update: W.jobUpdate, emergency_kit: W.jobKit };

  async function startJob(request, label, list, statusId, problemsId) {
    status(statusId, "");
    listProblems(problemsId, []);
    const answer = await api("POST", "/api/jobs", request);
    if (!answer.ok) {
      status(statusId, answer.data.message, true);
      listProblems(problemsId, answer.data.problems);
      return;
    }
    const id = answer.data.job;
    const item = element("li");
    const what = element("span", "what", label);
    const bar = element("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", say(W.progressOf, { what: label }));
    const cancel = element("button", "secondary", W.cancel);
    cancel.type = "button";
    const state = element("span", "state", W.queued);
    state.setAttribute("role", "status");
    item.append(what, bar, cancel, state);
    list.prepend(item);
    if (phone.matches) item.scrollIntoView({ block: "center" }); // below the form on a phone
    watched.add(id);
    cancel.addEventListener("click", async () => {
      await api("DELETE", "/api/jobs/" + id);
    });
    await follow(id, bar, state, cancel, item);
  }

  const count = new Intl.NumberFormat("zh-CN");
  const POLL_MS = 400; // a 30-household job moves visibly; a request is a few milliseconds

  // What a running job is doing, in words: 读取登记表, 生成户卡 123 / 2,903 户, 合并 PDF …
  // (`done` counts the households finished: drawn; while a grid's cards are laid out only
  // the bar moves)
  function doing(job) {
    const words = W["stage_" + job.stage] || W.running;
    const counted = say(W.progress, { done: count.format(job.done), total: count.format(job.total) });
    if (job.stage === "cards") return words + " " + counted;
    if (job.stage === "layout") return words + "（" + W.finished + " " + counted + "）";
    return words;
  }

  async function follow(id, bar, state, cancel, item) {
    for (;;) {
      const answer = await api("GET", "/api/jobs/" + id);
      if (!answer.ok) {
        state.textContent = answer.data.message;
        state.classList.add("bad");
        break;
      }
      const job = answer.data;
      bar.max = 1;
      // a bar that moves as households are laid out and drawn; before (the register, the
      // page layouts) and after (merging), the browser's moving bar without a value
      if (job.state === "running" && (job.stage === "cards" || job.stage === "layout")) {
        bar.value = job.fraction;
      } else if (job.state === "running") bar.removeAttribute("value");
      const counted = say(W.progress, { done: count.format(job.done), total: count.format(job.total) });
      if (job.state === "done") {
        bar.value = bar.max;
        state.replaceChildren(document.createTextNode(W.done + "（" + counted + "） " +
          (job.changed === false ? W.unchanged : "")));
        const open = element("a", "button", job.kind === "update" ? W.download : W.open);
        open.href = "/api/jobs/" + id + "/result";
        open.target = "_blank";
        open.rel = "noopener";
        cancel.replaceWith(open);
        if (job.report) item.appendChild(changeList(job.report));
        break;
      }
      if (job.state === "failed" || job.state === "cancelled") {
        bar.value = 0;
        state.textContent = W[job.state] + (job.error ? "：" + job.error.message : "");
        state.classList.toggle("bad", job.state === "failed");
        cancel.disabled = true;
        break;
      }
      state.textContent = job.state === "queued" ? W.queued : W.running + "：" + doing(job);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    watched.delete(id);
  }

  // The update packet's change list: per grid, how many 新增 / 换卡 / 抽出 / 暂缓 and each
  // household with its number and why.
  function changeList(report) {
    const box = element("div", "changes");
    report.grids.forEach((grid) => {
      const section = element("section", "grid-changes");
      const kinds = [["added", W.added], ["changed", W.changed], ["removed", W.removed],
        ["pending", W.pending]];
      section.appendChild(element("h3", null, grid.grid + " · " + say(W.edition, { n: grid.edition })));
      section.appendChild(element("p", "counts", kinds.map(([key, word]) =>
        word + " " + grid[key].length).join(" · ")));
      const list = element("ul", "change-list");
      kinds.forEach(([key, word]) => {
        grid[key].forEach((change) => {
          let why = "";
          if (key === "changed") why = change.reasons.join("；");
          else if (key === "added" && change.from) why = say(W.movedFrom, { grid: change.from });
          else if (key === "removed") why = change.to ? say(W.movedTo, { grid: change.to }) : W.left;
          else if (key === "pending") why = W.held;
          const line = element("li", "change " + key);
          line.append(element("span", "kind", word), element("span", "who",
            change.household_id + " · " + W.number + " " + change.number));
          if (why) line.appendChild(element("span", "why", why));
          list.appendChild(line);
        });
      });
      if (list.childElementCount) section.appendChild(list);
      else section.appendChild(element("p", "hint", W.gridUnchanged));
      box.appendChild(section);
    });
    if (report.files && report.files.length) {
      box.appendChild(element("p", "hint", W.packetFiles + report.files.join("、")));
    }
    return box;
  }

  document.querySelectorAll("#job-form [data-kind]").forEach((button) => {
    button.addEventListener("click", () => {
      const kind = button.dataset.kind;
      const grid = $("job-grid").value || null;
      const chosen = Array.from(document.querySelectorAll("#colour-boxes input:checked")).map((box) => box.value);
      const register = $("job-register").value || null;
      const label = jobNames[kind] + " · " + (grid || W.allGrids) +
        (chosen.length && kind !== "ledger" && kind !== "emergency_kit" ? " · " + chosen.map((c) => palette[c].char).join("") : "");
      startJob({ kind: kind, grid: grid, colours: kind === "ledger" || kind === "emergency_kit" ? [] : chosen, register: register,
        skip_invalid: $("skip-invalid").checked }, label, $("jobs"), "job-status", "job-problems");
    });
  });

  // A page that goes away takes its unfinished jobs with it.
  window.addEventListener("pagehide", () => {
    watched.forEach((id) => {
      fetch("/api/jobs/" + id, { method: "DELETE", keepalive: true, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() } });
    });
  });

  // ---- check ------------------------------------------------------------------------------
  let uploadKey = null;
  let uploadName = "";
  $("check-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("file").files[0];
    if (!file) {
      status("check-status", W.chooseFile, true);
      return;
    }
    $("check-print").hidden = true;
    $("problems-box").hidden = true;
    status("check-status", W.checking);
    const form = new FormData();
    form.append("file", file);
    const answer = await api("POST", "/api/validate", form);
    if (!answer.ok) {
      status("check-status", answer.data.message, true);
      return;
    }
    const report = answer.data;
    const counts = { error: 0, warning: 0 };
    report.problems.forEach((problem) => { counts[problem.severity] += 1; });
    status("check-status", say(W.checked, { file: file.name, households: report.households,
      members: report.members, errors: counts.error, warnings: counts.warning }) + "。" +
      (report.ok ? W.clean : W.notClean), !report.ok);
    const body = document.querySelector("#problems tbody");
    body.replaceChildren();
    report.problems.forEach((problem) => {
      const row = element("tr");
      row.append(element("td", problem.severity, W[problem.severity]),
        labelled(element("td", null, problem.sheet || ""), 0),
        element("td", null, problem.row === null ? "" : say(W.row, { row: problem.row })),
        labelled(element("td", null, problem.column || ""), 2),
        labelled(element("td", "value", problem.value || ""), 3),
        element("td", null, problem.message));
      body.appendChild(row);
    });
    $("problems-box").hidden = !report.problems.length;
    uploadKey = answer.headers.get("X-Cardgen-Upload");
    uploadName = file.name;
    $("check-print").hidden = !(report.ok && uploadKey);
  });

  // On a phone the table's rows are stacked cards: a cell says what it is (工作表, 列, 值).
  function labelled(cell, index) {
    if (cell.textContent) cell.dataset.label = ["工作表", "行", "列", "值"][index];
    return cell;
  }

  document.querySelectorAll("#check-print [data-kind]").forEach((button) => {
    button.addEventListener("click", () => {
      const kind = button.dataset.kind;
      startJob({ kind: kind, grid: null, colours: [], register: uploadKey, skip_invalid: false },
        jobNames[kind] + " · " + uploadName, $("check-jobs"), "check-status", "job-problems");
    });
  });

  // ---- the rest -----------------------------------------------------------------------------
  const logout = $("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      await api("POST", "/logout", {});
      window.location.assign("/login");
    });
  }

  overview();
  $("q").focus();
})();
