/* Progressive enhancement for every page. Nothing here is needed to read a lesson:
   without JavaScript the sidebar and TOC are native <details> toggles and code can be
   selected by hand. */
(function () {
  "use strict";

  var live = null;

  /* One polite live region for short status messages ("Copied"). */
  function announce(message) {
    if (!live) {
      live = document.createElement("div");
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = message; }, 50);
  }

  /* "Copy" buttons on code blocks. */
  function addCopyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll(".code-block").forEach(function (block) {
      var pre = block.querySelector("pre");
      if (!pre || block.querySelector(".code-copy")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "code-copy";
      button.textContent = "Copy";
      var caption = block.querySelector(".code-caption");
      var label = caption ? caption.textContent.trim() : "code";
      button.setAttribute("aria-label", "Copy " + label + " code");
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(pre.innerText.replace(/\n$/, "")).then(function () {
          button.textContent = "Copied";
          announce("Code copied to the clipboard");
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        }, function () {
          announce("Copying failed; select the code and copy it by hand");
        });
      });
      (caption || block).appendChild(button);
    });
  }

  /* Only regions that really scroll need to be keyboard stops. */
  function updateScrollableStops() {
    document.querySelectorAll(".code-block pre, .table-wrap").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.setAttribute("tabindex", "0");
      } else {
        el.removeAttribute("tabindex");
      }
    });
  }

  /* Sidebar and TOC: open where there is room for them, collapsed on small screens. */
  function syncDisclosures() {
    var rules = [
      [".course-nav .disclosure", "(min-width: 56rem)"],
      [".toc .disclosure", "(min-width: 80rem)"]
    ];
    rules.forEach(function (rule) {
      var details = document.querySelector(rule[0]);
      if (!details) return;
      var query = window.matchMedia(rule[1]);
      var apply = function () { details.open = query.matches; };
      apply();
      query.addEventListener("change", apply);
    });
  }

  /* Highlight the TOC entry of the section being read: the last heading above the
     reading line (a little below the sticky header). */
  function trackCurrentSection() {
    var links = Array.prototype.slice.call(document.querySelectorAll(".toc-list a[href^='#']"));
    if (!links.length) return;
    var sections = [];
    links.forEach(function (link) {
      var heading = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (heading) sections.push({ heading: heading, link: link });
    });
    var current = null;
    var pending = false;
    function update() {
      pending = false;
      var line = Math.min(window.innerHeight * 0.3, 200);
      var active = null;
      for (var i = 0; i < sections.length; i++) {
        if (sections[i].heading.getBoundingClientRect().top <= line) active = sections[i];
        else break;
      }
      if (active === current) return;
      if (current) current.link.removeAttribute("aria-current");
      if (active) active.link.setAttribute("aria-current", "true");
      current = active;
    }
    function schedule() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(update);
      }
    }
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    update();
  }

  /* Closing the TOC after a jump keeps the section in view on small screens. */
  function closeTocOnJump() {
    var details = document.querySelector(".toc .disclosure");
    if (!details) return;
    details.addEventListener("click", function (event) {
      if (event.target.closest("a") && !window.matchMedia("(min-width: 80rem)").matches) {
        details.open = false;
      }
    });
  }

  /* "Show" buttons next to password fields (hidden without JavaScript). */
  function addPasswordToggles() {
    document.querySelectorAll("[data-password-toggle]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-password-toggle"));
      if (!input) return;
      button.hidden = false;
      button.setAttribute("aria-label", "Show password");
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.textContent = show ? "Hide" : "Show";
        button.setAttribute("aria-label", show ? "Hide password" : "Show password");
      });
      /* Never submit with the password visible: a shoulder or screen recorder may see it. */
      if (input.form) {
        input.form.addEventListener("submit", function () { input.type = "password"; });
      }
    });
  }

  function init() {
    syncDisclosures();
    addPasswordToggles();
    addCopyButtons();
    updateScrollableStops();
    trackCurrentSection();
    closeTocOnJump();
    window.addEventListener("resize", updateScrollableStops);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
