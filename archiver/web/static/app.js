// archiver serve: live parts of the pages (verify badges, capture progress). No frameworks.
"use strict";

const BADGES = {
  "passed": ["pass", "✓ Passed"],
  "failed": ["fail", "✗ FAIL"],
  "trust not established": ["warn", "◐ Intact · trust not established"],
  "missing": ["fail", "✗ Package missing"],
};

function pollVerify(el) {
  const id = el.dataset.verifyId;
  const tick = async () => {
    try {
      const res = await fetch(`/api/captures/${encodeURIComponent(id)}/verify`, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const doc = await res.json();
      if (doc.state === "queued") { setTimeout(tick, 1000); return; }
      if (el.id === "verify-badge" || el.tagName === "P") { await refreshVerdict(); return; }
      const [cls, text] = BADGES[doc.badge] || ["pending", doc.badge];
      el.dataset.state = doc.state;
      el.innerHTML = "";
      const span = document.createElement("span");
      span.className = `badge ${cls}`;
      span.textContent = text;
      el.appendChild(span);
    } catch (err) {
      setTimeout(tick, 3000);
    }
  };
  setTimeout(tick, 700);
}

// The capture page: swap in the finished verdict and checks, leaving the replay frame alone.
async function refreshVerdict() {
  const res = await fetch(location.pathname, { credentials: "same-origin" });
  const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
  for (const id of ["verify-badge", "verify"]) {
    const now = document.getElementById(id);
    const next = fresh.getElementById(id);
    if (now && next) now.replaceWith(document.adoptNode(next));
  }
}

function pollJob(box) {
  const api = box.dataset.job;
  const state = document.getElementById("job-state");
  const steps = document.getElementById("job-steps");
  const error = document.getElementById("job-error");
  const tick = async () => {
    let doc;
    try {
      const res = await fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } });
      doc = await res.json();
    } catch (err) { setTimeout(tick, 1500); return; }
    state.textContent = doc.state;
    box.className = `job job-${doc.state}`;
    steps.innerHTML = "";
    for (const step of doc.steps) {
      const li = document.createElement("li");
      li.textContent = step;
      steps.appendChild(li);
    }
    if (doc.state === "done" && doc.links.capture) { location.assign(doc.links.capture); return; }
    if (doc.state === "failed") { error.hidden = false; error.textContent = doc.error; return; }
    setTimeout(tick, 600);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  const pending = new Set();
  for (const el of document.querySelectorAll("[data-verify-id][data-state='queued']")) {
    if (pending.has(el.dataset.verifyId)) continue;  // one poll per capture
    pending.add(el.dataset.verifyId);
    pollVerify(el);
  }
  const job = document.getElementById("job");
  if (job && !["done", "failed"].includes(job.className.replace("job job-", ""))) pollJob(job);
  else if (job && job.className.endsWith("done")) {
    const link = document.getElementById("job-link");
    if (link && link.getAttribute("href") !== "#") location.assign(link.getAttribute("href"));
  }
});
