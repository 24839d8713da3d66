// Keydesk's behaviour beyond htmx, kept small and free of inline handlers so
// the Content-Security-Policy can forbid inline script. Everything here
// improves a page that already works without it.
(function () {
  "use strict";

  // Menus are <details>: close them on Escape (returning focus to their
  // button) and on a click outside.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open], details.disclosure[open]").forEach(function (menu) {
      if (!menu.contains(document.activeElement) && !menu.matches("[data-menu]")) return;
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // A Cancel link inside a <details> closes it in place; without
  // JavaScript it reloads the page, which closes it too.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-close-details]") : null;
    if (!link) return;
    var details = link.closest("details");
    if (!details) return;
    event.preventDefault();
    details.removeAttribute("open");
    var summary = details.querySelector("summary");
    if (summary) summary.focus();
  });

  // Say something when an htmx request fails in a way no fragment explains.
  function alertUser(message) {
    var region = document.getElementById("alerts");
    if (!region) return;
    region.textContent = message;
    region.classList.add("toast-region--visible");
    window.clearTimeout(alertUser.timer);
    alertUser.timer = window.setTimeout(function () {
      region.classList.remove("toast-region--visible");
      region.textContent = "";
    }, 6000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) alertUser("That request was refused. Reload the page and try again.");
    else if (status === 404) alertUser("That item no longer exists. Reload the page to see the latest.");
    else if (status === 413) alertUser("That was too large to send. Shorten it and try again.");
    else if (status === 503) alertUser("Keydesk is busy right now. Nothing was changed; try again in a moment.");
    else alertUser("Something went wrong. Nothing was changed; try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function () {
    alertUser("Keydesk could not be reached. Check your connection and try again.");
  });

  // Copy buttons: [data-copy] names the element whose text to copy. They
  // are hidden until this runs, since without JavaScript they cannot work.
  function bindCopy(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    function selectIt() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      announce((button.getAttribute("data-copy") === "#new-key" ? "Key" : "Command") +
        " selected: press Ctrl+C or Cmd+C to copy it.");
    }
    // The button's own label ("Copy", "Copy command") comes back after.
    var label = button.getAttribute("data-label") || button.textContent.trim();
    button.setAttribute("data-label", label);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = "Copied";
        announce("Copied");
        window.setTimeout(function () { button.textContent = label; }, 2500);
      }, selectIt);
    } else {
      selectIt();
    }
  });
  // The live region (#announcer): screen readers read what is put in it,
  // but only when it changes, so the same words twice in a row (a key
  // disabled twice) are emptied first and put back a moment later.
  var announceTimer = 0;
  function announce(message) {
    var announcer = document.getElementById("announcer");
    if (!announcer || !message) return;
    window.clearTimeout(announceTimer);
    if (announcer.textContent !== message) {
      announcer.textContent = message;
      return;
    }
    announcer.textContent = "";
    announceTimer = window.setTimeout(function () { announcer.textContent = message; }, 150);
  }
  bindCopy(document);
  document.addEventListener("htmx:load", function (event) { bindCopy(event.detail.elt); });

  // Times: the server writes UTC; show the exact time on hover in the
  // viewer's own time zone and language.
  var exact = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }) : null;
  var dateOnly = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }) : null;
  function localTimes(root) {
    if (!exact) return;
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      el.setAttribute("data-local", "");
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      var suffix = (el.getAttribute("title") || "").replace(/^[^]*? UTC/, "");
      if (el.hasAttribute("title")) el.setAttribute("title", exact.format(when) + suffix);
      if (el.hasAttribute("data-date")) el.textContent = dateOnly.format(when);
      if (el.hasAttribute("data-exact")) el.textContent = exact.format(when);
    });
  }
  localTimes(document);
  document.addEventListener("htmx:load", function (event) { localTimes(event.detail.elt); });

  // Focus. A control marked data-opener (Create, Edit, Delete) is where
  // focus returns when what it opened closes; Escape inside an open form or
  // confirmation presses its Cancel ([data-cancel]).
  var returnFocusTo = null;
  document.addEventListener("click", function (event) {
    var opener = event.target.closest ? event.target.closest("[data-opener]") : null;
    if (opener && opener.id) returnFocusTo = opener.id;
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    var scope = event.target.closest("#create-panel, .row-form");
    var cancel = scope ? scope.querySelector("[data-cancel]") : null;
    if (!cancel) return;
    event.preventDefault();
    cancel.click();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) return;
    var back = returnFocusTo && document.getElementById(returnFocusTo);
    if (back) {
      back.focus();
      return;
    }
    var target = event.detail.target;
    // After an outerHTML swap the target is the old element, gone from the
    // page; its replacement carries the same id.
    if (target && !document.contains(target) && target.id) target = document.getElementById(target.id);
    var fallback = target && document.contains(target) && target.querySelector ? target.querySelector("[tabindex='-1']") : null;
    if (fallback) fallback.focus();
  });

  // Opening a disclosure (Change password) hides its summary, which had
  // focus: move focus to the first field inside.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details.disclosure") || !details.open) return;
    var first = details.querySelector("input:not([type=hidden]), textarea, select");
    if (first) first.focus();
  }, true);

  // The inventory's selection: a checkbox in the header selects every key
  // on the page, and "Disable selected" says how many are. Without
  // JavaScript the header checkbox stays hidden and the button says
  // "Disable selected…"; the confirmation names and counts them.
  function bulkSelection() {
    var all = document.querySelector("[data-select-all]");
    var count = document.querySelector("[data-selected-count]");
    if (!all || !count) return;
    var boxes = document.querySelectorAll('input[type=checkbox][name=id][form="' + all.getAttribute("form") + '"]');
    var checked = 0;
    boxes.forEach(function (box) { if (box.checked) checked++; });
    count.textContent = " (" + checked + ")";
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }
  function bindSelectAll(root) {
    var all = root.querySelector ? root.querySelector("[data-select-all]") : null;
    if (all) {
      all.hidden = false;
      var label = document.querySelector("[data-select-label]");
      if (label) label.hidden = true;
    }
    bulkSelection();
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches) return;
    if (box.matches("[data-select-all]")) {
      document.querySelectorAll('input[type=checkbox][name=id][form="' + box.getAttribute("form") + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
      bulkSelection();
    } else if (box.matches("input[type=checkbox][name=id]")) {
      bulkSelection();
    }
  });
  bindSelectAll(document);
  // A row swapped in by its switch comes back unchecked.
  document.addEventListener("htmx:load", function () { bulkSelection(); });

  // Server-sent announcements (HX-Trigger-After-Settle:
  // {"keydesk:announce": "…"}), which htmx fires once the swap has settled.
  document.addEventListener("keydesk:announce", function (event) {
    if (event.detail && event.detail.value) announce(event.detail.value);
  });

  // Announce the status message a swapped-in fragment carries ("Key
  // disabled.", "Name saved."), unless the server sent its own words. The
  // fragment is the event's target: htmx fires afterSwap on the new
  // content, while detail.target is, after an outerHTML swap, the old
  // element, gone from the page, with the previous action's message.
  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger-After-Settle")) return;
    var swapped = event.target;
    if (!swapped || !swapped.querySelector) return;
    var status = swapped.matches("[role=status]") ? swapped : swapped.querySelector("[role=status]");
    if (status) announce(status.textContent.trim());
  });
  // A success message marked data-transient ("Name saved.") is about the
  // action just done: it goes when the user starts another, or edits the
  // form it is in.
  function dropTransient(root) {
    root.querySelectorAll("[data-transient]").forEach(function (el) { el.remove(); });
  }
  document.addEventListener("htmx:beforeRequest", function () { dropTransient(document); });
  document.addEventListener("input", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    if (form) dropTransient(form);
  });

  // After a mistake in Change password, the current password the user
  // typed stays in its field (unless it was the mistake). The server never
  // sends a password back: the browser keeps it across the swap.
  var typedPassword = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var field = event.detail.elt.querySelector ? event.detail.elt.querySelector("#current_password") : null;
    typedPassword = field ? field.value : null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var field = document.getElementById("current_password");
    var refused = event.detail.xhr && event.detail.xhr.status === 422;
    if (refused && field && typedPassword && !field.value && field.getAttribute("aria-invalid") !== "true") field.value = typedPassword;
    typedPassword = null;
  });
})();
