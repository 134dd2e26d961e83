/* Knowledge checks, enhanced. Without this file every question is a plain form that the
   server grades and answers with a redirect back to the question. With it:
   - answers, hints and "Show answer" are sent with fetch (JSON, X-CSRFToken header) and
     the server-rendered result appears in the question's live region, without a reload;
   - a request that fails (network, 503) is retried with the same submission_id, so the
     server stores it once;
   - order questions get "Move up"/"Move down" buttons instead of position menus. */
(function () {
  "use strict";

  var RETRY_DELAYS_MS = [800, 2000, 5000];
  var MAX_RETRY_AFTER_MS = 10000;

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function field(form, name) {
    var input = form.querySelector('input[name="' + name + '"]');
    return input ? input.value : "";
  }

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  /* The answer as the JSON endpoint takes it: option ids, typed text, or ids in order. */
  function answerOf(form) {
    var order = form.querySelector("[data-quiz-order]");
    if (order) {
      return Array.prototype.map.call(order.querySelectorAll("select"), function (select) {
        return select.name.slice("position-".length);
      });
    }
    var inputs = form.querySelectorAll('[name="answer"]');
    var values = [];
    var list = false;
    inputs.forEach(function (input) {
      if (input.type === "checkbox") list = true;
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push(input.value);
      } else {
        values.push(input.value);
      }
    });
    return list || values.length !== 1 ? values : values[0];
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  /* POST JSON; retry the same body when the network or a busy server fails us. */
  function send(url, body, csrfToken, attempt) {
    attempt = attempt || 0;
    var retry = function (delay) {
      if (attempt >= RETRY_DELAYS_MS.length) return null;
      return wait(delay).then(function () { return send(url, body, csrfToken, attempt + 1); });
    };
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 503 || response.status === 502 || response.status === 504) {
        var seconds = parseFloat(response.headers.get("Retry-After"));
        var delay = isNaN(seconds) ? RETRY_DELAYS_MS[attempt] :
          Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
        var again = retry(delay);
        if (again) return again;
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }, function () {
      var again = retry(RETRY_DELAYS_MS[attempt]);
      if (again) return again;
      return { status: 0, data: {} };
    });
  }

  function show(section, data) {
    var result = section.querySelector(".quiz-result");
    var help = section.querySelector(".quiz-help");
    if (result && typeof data.result_html === "string") result.innerHTML = data.result_html;
    if (help && typeof data.help_html === "string") help.innerHTML = data.help_html;
    var check = section.closest(".knowledge-check");
    var summary = check && check.querySelector(".knowledge-check-summary");
    if (summary && typeof data.summary_html === "string") summary.innerHTML = data.summary_html;
    var checklist = document.querySelector("[data-check-questions]");
    if (checklist && typeof data.checklist_html === "string") {
      checklist.outerHTML = data.checklist_html;
    }
    var next = section.querySelector('[data-quiz-answer] input[name="submission_id"]');
    if (next && data.next_submission_id) next.value = data.next_submission_id;
    // Lesson progress (progress.js) re-checks completion after a correct answer.
    if (data.correct === true) {
      document.dispatchEvent(new CustomEvent("quiz:answered", { detail: { correct: true } }));
    }
  }

  function showProblem(section, status, data) {
    var result = section.querySelector(".quiz-result");
    if (!result) return;
    var message = data && data.message;
    if (!status) {
      message = "We couldn't reach the server. Check your connection and press the button " +
        "again; your answer won't be counted twice.";
    } else if (!message) {
      message = "Something went wrong (error " + status + "). Please try again.";
    }
    var html = '<p class="quiz-notice"><span class="quiz-notice-icon" aria-hidden="true">!</span> ' +
      escapeText(message) + "</p>";
    if (status === 409 || (status === 400 && data && !data.reason)) {
      html += '<p><button type="button" class="button button-small" data-quiz-reload>' +
        "Reload the page</button></p>";
    }
    result.innerHTML = html;
  }

  function bodyFor(form) {
    var body = { revision: field(form, "revision") };
    if (form.matches("[data-quiz-answer]")) {
      body.submission_id = field(form, "submission_id") || uuid4();
      body.answer = answerOf(form);
    } else if (form.matches("[data-quiz-hint]")) {
      body.hint = field(form, "hint");
    }
    return body;
  }

  function focusAfter(section, form) {
    var target = null;
    if (form.matches("[data-quiz-hint]")) {
      var hints = section.querySelectorAll(".quiz-hint");
      target = hints[hints.length - 1];
    } else if (form.matches("[data-quiz-reveal]")) {
      target = section.querySelector(".quiz-key");
    }
    if (!target && !document.body.contains(document.activeElement)) {
      target = section.querySelector(".quiz-check");
    }
    if (target) target.focus();
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (!form.matches("[data-quiz-answer], [data-quiz-hint], [data-quiz-reveal]")) return;
    var section = form.closest("[data-quiz]");
    if (!section || !window.fetch) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;  // one request at a time
    var body = bodyFor(form);
    var submitter = form.querySelector('button[type="submit"]');
    form.setAttribute("aria-busy", "true");
    if (submitter) submitter.setAttribute("aria-disabled", "true");
    send(form.action, body, field(form, "csrf_token")).then(function (reply) {
      form.removeAttribute("aria-busy");
      if (submitter) submitter.removeAttribute("aria-disabled");
      if (reply.status === 200) {
        show(section, reply.data);
        focusAfter(section, form);
      } else {
        showProblem(section, reply.status, reply.data);
      }
    });
  }

  /* Order questions: buttons move an item; the list's own numbers show the positions. */
  function enhanceOrder(list) {
    var section = list.closest("[data-quiz]");
    var help = section && section.querySelector(".quiz-order-help");
    if (help) help.textContent = "Use the Move up and Move down buttons to put the items in order.";
    var live = document.createElement("p");
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    list.parentNode.insertBefore(live, list.nextSibling);

    function items() { return Array.prototype.slice.call(list.children); }
    function text(item) { return item.querySelector(".quiz-order-text").textContent.trim(); }

    function refresh() {
      var all = items();
      all.forEach(function (item, index) {
        item.querySelector("select").value = String(index + 1);
        item.querySelector(".quiz-move-up").disabled = index === 0;
        item.querySelector(".quiz-move-down").disabled = index === all.length - 1;
      });
    }

    function move(item, step, button) {
      var all = items();
      var index = all.indexOf(item);
      var target = index + step;
      if (target < 0 || target >= all.length) return;
      if (step < 0) list.insertBefore(item, all[target]);
      else list.insertBefore(item, all[target].nextSibling);
      refresh();
      var focus = button.disabled ? item.querySelector(step < 0 ? ".quiz-move-down" :
        ".quiz-move-up") : button;
      focus.focus();
      live.textContent = text(item) + ": position " + (target + 1) + " of " + all.length;
    }

    items().forEach(function (item) {
      var select = item.querySelector("select");
      select.hidden = true;
      var label = text(item);
      var controls = document.createElement("span");
      controls.className = "quiz-move";
      [["up", "Move up", -1, "\u2191"], ["down", "Move down", 1, "\u2193"]].forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "quiz-move-" + spec[0];
        button.setAttribute("aria-label", spec[1] + ": " + label);
        button.title = spec[1];
        button.textContent = spec[3];
        button.addEventListener("click", function () { move(item, spec[2], button); });
        controls.appendChild(button);
      });
      item.appendChild(controls);
    });
    list.classList.add("quiz-order-enhanced");
    refresh();
  }

  function init() {
    if (!document.querySelector("[data-quiz]")) return;  // a page without questions
    document.addEventListener("submit", onSubmit);
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-quiz-reload]")) window.location.reload();
    });
    document.querySelectorAll("[data-quiz-order]").forEach(enhanceOrder);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
