// Streams model answers into the page as plain text (textContent: inert), then swaps in the
// server-rendered, sanitised Markdown.  No inline scripts: the page's CSP allows only this file and htmx.
"use strict";
(function () {
  function csrf() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  async function stream(url, body, target) {
    const res = await fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() },
    });
    if (!res.ok) {
      target.textContent = "Error " + res.status + ": " + (await res.text()).slice(0, 300);
      return false;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      target.textContent = text;
    }
    return true;
  }

  async function swap(url, target) {
    const res = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (res.ok) {
      target.innerHTML = await res.text();  // server-sanitised HTML
    }
  }

  // chat: <form data-stream="/chat/L/turns" data-after="/chat/L/conversations/C/turns" data-target="#turns">
  document.addEventListener("submit", async function (ev) {
    const form = ev.target;
    if (!form.matches("form[data-stream]")) return;
    ev.preventDefault();
    const box = document.querySelector(form.dataset.target);
    const live = document.createElement("div");
    live.className = "turn live";
    const q = document.createElement("p");
    q.className = "prompt";
    q.textContent = form.querySelector("[name=prompt]").value;
    const a = document.createElement("pre");
    a.className = "answer streaming";
    a.setAttribute("data-testid", "streaming-answer");
    live.append(q, a);
    box.append(live);
    const body = new FormData(form);
    form.querySelector("[name=prompt]").value = "";
    form.querySelector("button").disabled = true;
    try {
      await stream(form.dataset.stream, body, a);
      await swap(form.dataset.after, box);
    } finally {
      form.querySelector("button").disabled = false;
      document.dispatchEvent(new CustomEvent("turn-complete"));
      const rate = document.getElementById("rate-form");
      if (rate) rate.hidden = false;
    }
  });

  // arena: <section data-battle="/arena/battles/ID"> with <div data-side="a|b" data-pending>
  async function runBattle(section) {
    const base = section.dataset.battle;
    const sides = Array.from(section.querySelectorAll("[data-side][data-pending]"));
    await Promise.all(sides.map(async function (el) {
      const pre = el.querySelector("pre");
      const ok = await stream(base + "/answers/" + el.dataset.side, new FormData(), pre);
      if (ok) {
        await swap(base + "/answers/" + el.dataset.side, el);
        el.removeAttribute("data-pending");
      }
    }));
    if (!section.querySelector("[data-side][data-pending]")) {
      section.querySelectorAll("button[data-vote]").forEach(function (b) { b.disabled = false; });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("section[data-battle]").forEach(runBattle);
  });
})();
