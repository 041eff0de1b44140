// Live queue pages. While the page is shown, ask the API twice a second whether a case in the user's scope
// changed (GET data-live-changes?after=<cursor>); when one did, fetch this page again and bring in its rows
// (the parts marked data-live-part) and its queue counts. What the user is doing stays as it is: the filter
// form is never touched, rows already shown keep their nodes (a ticked box stays ticked), the scroll position
// holds, and new rows light up for a moment. Stops while the page is hidden, backs off on errors, gives up on
// 401/403. No text of its own: everything shown comes from the server's page.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-changes]");
  if (!root || !window.fetch || !window.DOMParser) return;

  var ENDPOINT = root.getAttribute("data-live-changes");
  var SINCE = root.getAttribute("data-live-since") || "";
  // ms between two questions while all is well: a new case shows within a second (poll, then the page).
  var INTERVAL = 500;
  var MAX_DELAY = 60000; // the longest wait after repeated errors
  var GLOW_MS = 2500;

  var cursor = null; // the `latest` of the last answer: null until the first one
  var delay = INTERVAL;
  var timer = null;
  var busy = false;
  var stopped = false;

  function visible() {
    return document.visibilityState === "visible";
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = null;
    if (!stopped && visible()) timer = setTimeout(tick, ms);
  }

  function changesUrl() {
    var q = cursor === null ? (SINCE ? "since=" + encodeURIComponent(SINCE) : "") : "after=" + cursor;
    return ENDPOINT + (q ? "?" + q : "");
  }

  function tick() {
    timer = null;
    if (busy || stopped) return; // the call in flight schedules the next one
    busy = true;
    fetch(changesUrl(), { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json", "X-Gridgov-Background": "1" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          stopped = true; // signed out, or a role without live pages: nothing to ask any more
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        if (!body) return null;
        if (!body.changed || cursor === null) {
          cursor = body.latest;
          return null;
        }
        // Move the cursor only once the rows are in: a failed fetch is tried again on the next question.
        return refresh().then(function () {
          cursor = body.latest;
        });
      })
      .then(
        function () {
          delay = INTERVAL;
        },
        function () {
          delay = Math.min(delay * 2, MAX_DELAY);
        }
      )
      .then(function () {
        busy = false;
        schedule(delay);
      });
  }

  // ------------------------------------------------------------------------------------------- the page

  function refresh() {
    return fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      // Polling is not the person at the screen: the idle timeout keeps running (等保).
      headers: { Accept: "text/html", "X-Gridgov-Background": "1" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        apply(new DOMParser().parseFromString(html, "text/html"));
      });
  }

  function apply(doc) {
    var anchor = scrollAnchor();
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-part]"), function (part) {
      var fresh = doc.querySelector('[data-live-part="' + part.getAttribute("data-live-part") + '"]');
      if (fresh) mergePart(part, fresh);
    });
    updateCounts(doc);
    keepScroll(anchor);
    nudgeBatch();
  }

  function rowsOf(container) {
    return Array.prototype.slice.call(container.querySelectorAll("tr[data-number]"));
  }

  function numbersIn(container) {
    var out = {};
    rowsOf(container).forEach(function (row) {
      out[row.getAttribute("data-number")] = row;
    });
    return out;
  }

  // An element without its children, and without the time the page was made (which always differs).
  function shell(el) {
    var bare = el.cloneNode(false);
    bare.removeAttribute("data-live-since");
    return bare.outerHTML;
  }

  // A part whose frame is unchanged keeps its table and has its rows merged; otherwise (a first row on an
  // empty list, the last one gone) it is replaced whole.
  function mergePart(part, fresh) {
    var known = numbersIn(part);
    var oldBody = part.querySelector("tbody");
    var newBody = fresh.querySelector("tbody");
    var same = oldBody && newBody && shell(part) === shell(fresh) && part.children.length === fresh.children.length;
    if (!same) {
      var copy = document.importNode(fresh, true);
      part.replaceWith(copy);
      rowsOf(copy).forEach(function (row) {
        if (!known[row.getAttribute("data-number")]) glow(row);
      });
      return;
    }
    for (var i = 0; i < part.children.length; i++) {
      var mine = part.children[i];
      var theirs = fresh.children[i];
      if (mine.contains(oldBody) && theirs.contains(newBody)) continue;
      if (mine.outerHTML !== theirs.outerHTML) mine.replaceWith(document.importNode(theirs, true));
    }
    mergeRows(oldBody, newBody, known);
    var all = part.querySelector(".select-all");
    var freshAll = fresh.querySelector(".select-all");
    if (all && freshAll) all.disabled = freshAll.disabled;
  }

  function mergeRows(body, freshBody, known) {
    var wanted = rowsOf(freshBody).map(function (row) {
      var old = known[row.getAttribute("data-number")];
      if (!old) {
        var added = document.importNode(row, true);
        glow(added);
        return added;
      }
      updateRow(old, row);
      return old;
    });
    // Put the rows in order moving as few as possible (a moved node loses focus), then drop the rest.
    wanted.forEach(function (row, i) {
      var here = body.children[i];
      if (here !== row) body.insertBefore(row, here || null);
    });
    while (body.children.length > wanted.length) body.removeChild(body.lastElementChild);
  }

  // Cells that changed are replaced; an unchanged cell (a ticked box among them) keeps its node.
  function updateRow(row, fresh) {
    var glowing = row.classList.contains("live-new");
    row.className = fresh.className;
    if (glowing) row.classList.add("live-new");
    if (row.cells.length !== fresh.cells.length) {
      row.innerHTML = fresh.innerHTML;
      return;
    }
    for (var i = 0; i < fresh.cells.length; i++) {
      if (row.cells[i].outerHTML !== fresh.cells[i].outerHTML) {
        row.cells[i].replaceWith(document.importNode(fresh.cells[i], true));
      }
    }
  }

  function glow(el) {
    el.classList.add("live-new");
    if (el.animate) {
      Array.prototype.forEach.call(el.tagName === "TR" ? el.cells : [el], function (cell) {
        cell.animate([{ backgroundColor: "#fff1b8" }, { backgroundColor: "rgba(255, 241, 184, 0)" }], {
          duration: GLOW_MS,
          easing: "ease-in",
        });
      });
    }
    setTimeout(function () {
      el.classList.remove("live-new");
    }, GLOW_MS);
  }

  // The queue tiles of the home page and the inbox badge of the top bar.
  function updateCounts(doc) {
    Array.prototype.forEach.call(document.querySelectorAll("a[data-queue]"), function (link) {
      var fresh = doc.querySelector('a[data-queue="' + link.getAttribute("data-queue") + '"]');
      if (!fresh || fresh.innerHTML === link.innerHTML) return;
      link.innerHTML = fresh.innerHTML;
      var tile = link.parentElement;
      if (tile && fresh.parentElement) tile.className = fresh.parentElement.className;
      glow(link);
    });
    var inbox = document.querySelector(".topbar .inbox-link");
    var freshInbox = doc.querySelector(".topbar .inbox-link");
    if (inbox && freshInbox && inbox.innerHTML !== freshInbox.innerHTML) inbox.innerHTML = freshInbox.innerHTML;
  }

  // The first row in view and where it stands: rows coming in above it must not push it away.
  function scrollAnchor() {
    if (window.scrollY <= 0) return null; // at the top: new rows show where the user looks
    var rows = document.querySelectorAll("[data-live-part] tr[data-number]");
    for (var i = 0; i < rows.length; i++) {
      var top = rows[i].getBoundingClientRect().top;
      if (top >= 0) return { el: rows[i], top: top };
    }
    return null;
  }

  function keepScroll(anchor) {
    if (!anchor || !anchor.el.isConnected) return;
    var moved = anchor.el.getBoundingClientRect().top - anchor.top;
    if (moved) window.scrollBy(0, moved);
  }

  // The batch bar (lists.js) recounts on a change of any box (it listens on the document): after rows came
  // in or went away, one change of a box makes it count again.
  function nudgeBatch() {
    var box = document.querySelector('input[name="numbers"][form="batch"]');
    if (box) box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("visibilitychange", function () {
    if (visible()) {
      delay = INTERVAL;
      schedule(0);
    } else {
      clearTimeout(timer);
      timer = null;
    }
  });

  schedule(0);
})();
