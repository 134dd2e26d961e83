/* Lesson progress, synced while the learner reads. Without this file, opening a lesson
   marks it started and "Mark as complete" is a plain form. With it:
   - an IntersectionObserver notes each heading the learner reaches, and scrolling moves
     the reading bar and "N min left" (from the section in view);
   - what was reached is sent in one batched fetch POST (JSON, X-CSRFToken header,
     keepalive) a moment after reading moves on, and at once when the page is hidden or
     left (sendBeacon cannot send the CSRF header);
   - the server's answer updates "Progress saved", the completion box and the sidebar. */
(function () {
  "use strict";

  var SYNC_DELAY_MS = 1500;
  var RETRY_DELAY_MS = 5000;

  var box = document.querySelector("[data-lesson-progress]");
  var article = document.querySelector(".lesson-body");
  if (!box || !article || !window.fetch) return;
  var data = JSON.parse(box.getAttribute("data-progress"));
  var tokenNode = document.querySelector('meta[name="csrf-token"]');
  var token = tokenNode ? tokenNode.content : "";
  var bar = document.querySelector("[data-reading-progress]");
  var minutesNode = document.querySelector("[data-minutes-left]");
  var syncStatus = document.querySelector("[data-sync-status]");

  var ids = data.sections.map(function (entry) { return entry[0]; });
  var headings = ids.map(function (id) { return document.getElementById(id); })
    .filter(Boolean);
  var completed = Boolean(data.completed);
  var reached = { index: ids.indexOf(data.furthest_section), percent: data.percent_read };
  var synced = { index: reached.index, percent: reached.percent };
  var timer = null;
  var sending = false;
  var forced = false;

  /* Headings above the middle of the window have been reached; the last of them is
     the section in view. */
  function sectionInView() {
    var middle = window.innerHeight / 2;
    var index = -1;
    for (var i = 0; i < headings.length; i++) {
      if (headings[i].getBoundingClientRect().top <= middle) index = ids.indexOf(headings[i].id);
    }
    return index;
  }

  /* Share of the lesson text above the bottom of the window; 100 once its end shows. */
  function percentInView() {
    var rect = article.getBoundingClientRect();
    if (rect.height <= 0) return 0;
    var seen = (window.innerHeight - rect.top) / rect.height;
    return Math.max(0, Math.min(100, Math.floor(seen * 100)));
  }

  function showMinutes(index) {
    if (!minutesNode || completed) return;
    var minutes = index >= 0 ? data.sections[index][1] : data.minutes;
    minutesNode.textContent = minutes + " min left";
  }

  function showBar() {
    if (!bar) return;
    bar.value = reached.percent;
    bar.textContent = reached.percent + "%";
  }

  function look() {
    var index = sectionInView();
    showMinutes(index);
    var percent = percentInView();
    if (index > reached.index) reached.index = index;
    if (percent > reached.percent) reached.percent = percent;
    showBar();
    if (reached.index > synced.index || reached.percent > synced.percent) schedule(SYNC_DELAY_MS);
  }

  function schedule(delay) {
    if (timer === null) timer = window.setTimeout(send, delay);
  }

  function say(text) {
    if (syncStatus) syncStatus.textContent = text;
  }

  function send() {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    var ahead = reached.index > synced.index || reached.percent > synced.percent;
    if (sending || !(ahead || forced)) return;
    forced = false;
    sending = true;
    var report = { index: reached.index, percent: reached.percent };
    fetch(data.sync_url, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": token
      },
      body: JSON.stringify({
        section: report.index >= 0 ? ids[report.index] : null,
        percent_read: report.percent
      })
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (entry) {
      sending = false;
      synced = report;
      show(entry);
      if (reached.index > synced.index || reached.percent > synced.percent) {
        schedule(SYNC_DELAY_MS);
      }
    }).catch(function () {
      sending = false;
      say("Progress not saved yet: retrying shortly.");
      schedule(RETRY_DELAY_MS);
    });
  }

  function show(entry) {
    say("Progress saved just now.");
    if (entry.percent_read >= 100) {
      var end = box.querySelector("[data-check-end]");
      if (end) {
        end.classList.add("is-done");
        var state = end.querySelector(".checklist-state");
        if (state) state.textContent = ": done";
      }
    }
    if (entry.completed_at && !completed) {
      completed = true;
      box.classList.add("is-complete");
      var current = document.querySelector("[data-current-lesson]");
      if (current) current.classList.add("is-complete");
      if (minutesNode) minutesNode.textContent = "Completed";
    }
  }

  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(look, { rootMargin: "0px 0px -50% 0px" });
    headings.forEach(function (heading) { observer.observe(heading); });
    observer.observe(box);
  }
  var pending = false;
  window.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; look(); });
  }, { passive: true });

  document.addEventListener("quiz:answered", function () {
    forced = true;
    schedule(0);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") send();
  });
  window.addEventListener("pagehide", send);

  // A deep link (#section) always wins: the notice about where the learner was is only
  // for a visit without one.
  var notice = document.querySelector("[data-resume-notice]");
  if (notice && window.location.hash) notice.hidden = true;
  // One report per visit even without reading further, so that "Continue where you left
  // off" knows this lesson was the last one open (a GET writes only every ten minutes).
  forced = true;
  look();
  schedule(SYNC_DELAY_MS);
})();
