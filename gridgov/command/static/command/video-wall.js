// The video wall and the camera page: each <video data-src> plays its HLS address with hls.js (or the
// browser's own HLS where hls.js cannot run); a stream that fails or never starts shows "no signal".
(function () {
  "use strict";
  var node = document.getElementById("video-config");
  var config = node ? JSON.parse(node.textContent) : {};
  var text = config.text || {};
  var streams = config.streams || {};
  var START_TIMEOUT_MS = 20000;

  function show(tile, state, message) {
    var label = tile.querySelector(".video-state");
    tile.dataset.state = state;
    if (label) {
      label.textContent = message || "";
      label.hidden = state === "playing";
    }
  }

  function stop(video) {
    if (video._hls) {
      video._hls.destroy();
      video._hls = null;
    }
    clearTimeout(video._timer);
    video.removeAttribute("src");
    video.load();
  }

  function play(video) {
    var tile = video.closest(".video-tile");
    stop(video);
    var src = video.dataset.src;
    if (!src) {
      show(tile, "empty", text.none || "");
      return;
    }
    var failed = false;
    function fail() {
      if (failed) return;
      failed = true;
      stop(video);
      show(tile, "nosignal", text.nosignal || "No signal");
    }
    show(tile, "loading", text.loading || "");
    if (!video._watched) {
      video._watched = true;
      video.addEventListener("playing", function () {
        clearTimeout(video._timer);
        show(video.closest(".video-tile"), "playing", "");
      });
    }
    video._timer = setTimeout(function () {
      if (video.currentTime === 0) fail();
    }, START_TIMEOUT_MS);
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 1, fragLoadingMaxRetry: 2 });
      video._hls = hls;
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (data.fatal) fail();
      });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        var started = video.play();
        if (started && started.catch) started.catch(function () {});
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.addEventListener("error", fail, { once: true });
      video.src = src;
      var started = video.play();
      if (started && started.catch) started.catch(function () {});
    } else {
      fail();
    }
  }

  function chosen() {
    return Array.prototype.map.call(document.querySelectorAll(".video-choice"), function (s) {
      return s.value;
    });
  }

  function address(layout) {
    var params = new URLSearchParams();
    params.set("layout", layout);
    chosen().forEach(function (code) {
      if (code) params.append("c", code);
    });
    return "?" + params.toString();
  }

  var wall = document.getElementById("video-wall");
  if (wall) {
    wall.querySelectorAll(".video-choice").forEach(function (select) {
      select.addEventListener("change", function () {
        var tile = select.closest(".video-tile");
        var video = tile.querySelector("video");
        video.dataset.src = streams[select.value] || "";
        video.dataset.code = select.value;
        var link = tile.querySelector(".video-open");
        if (link) link.hidden = !select.value;
        play(video);
        history.replaceState(null, "", address(wall.dataset.layout));
      });
    });
    document.querySelectorAll("a[data-layout]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        window.location.href = address(link.dataset.layout);
      });
    });
  }
  document.querySelectorAll("video[data-src]").forEach(play);
})();
